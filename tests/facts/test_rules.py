"""The rules behind the facts that the data files do not show on their own."""
from __future__ import annotations

import pytest

from fleet.facts import qpid_stat, releases, servers

HEADS = ("queue", "dur", "autoDel", "excl", "msg", "msgIn", "msgOut", "bytes", "bytesIn",
         "bytesOut", "cons", "bind")


def table(*rows: tuple[str, str, str]) -> str:
    """qpid-stat's layout (disp.py Display.table): columns as wide as their widest cell + 2."""
    cells = [[n, "Y", "", "", m, m, "   0", "   0", "   0", "   0", c, "   1"] for n, m, c in rows]
    w = [max(len(h), *(len(r[i]) for r in cells)) + 2 for i, h in enumerate(HEADS)]
    lines = ["Queues", "  " + "".join(h.ljust(w[i]) for i, h in enumerate(HEADS)).rstrip(),
             "  " + "=" * sum(w)]
    lines += ["  " + "".join(x.ljust(w[i]) for i, x in enumerate(r)).rstrip() for r in cells]
    return "\n".join(lines) + "\n"


def test_a_dead_letter_queue_with_a_consumer_blocks_the_drain() -> None:
    done, detail = qpid_stat.drained(table(("q-dl", "  12", "   1")))
    assert not done and "q-dl: 12 msg" in detail


def test_a_dead_letter_queue_without_consumer_is_reported_not_waited_for() -> None:
    done, detail = qpid_stat.drained(table(("q", "   0", "   1"), ("q-dl", "1.23k", "   0")))
    assert done and "q-dl: 1230 msg" in detail


def test_a_backlog_above_a_thousand_is_read_whole() -> None:
    done, detail = qpid_stat.drained(table(("q", " 250k", "   1")))
    assert not done and detail == "q: 250000 msg"


@pytest.mark.parametrize("cell,value", [("   0", 0), ("1.23k", 1230), (" 250k", 250000),
                                        ("1.48m", 1480000), ("21.7g", 21700000000),
                                        ("241K", 241000)])
def test_suffixes(cell: str, value: int) -> None:
    assert qpid_stat.number(cell) == value


LISTING = ('[ {"internalIP" : "10.1.0.7", "type" : [ "router" ], "uUID" : "r-7"},'
           ' {"internalIP" : "10.1.0.8", "type" : [ "message-processor" ], "uUID" : "mp-8"} ]')


def test_a_server_is_found_by_the_address_it_registered() -> None:
    assert servers.find(LISTING, "router", "10.1.0.7", lambda n: set())["uuid"] == "r-7"


def test_a_dns_name_is_resolved_to_the_registered_address() -> None:
    found = servers.find(LISTING, "message-processor", "mp1.example.com", lambda n: {"10.1.0.8"})
    assert found["uuid"] == "mp-8"


def test_no_match_names_what_was_tried_and_what_is_registered() -> None:
    with pytest.raises(servers.NoServer, match=r"no router registered at r9.example.com / 10.9.9.9 "
                                               r"\(registered router addresses: 10.1.0.7\).*internal_ip"):
        servers.find(LISTING, "router", "r9.example.com", lambda n: {"10.9.9.9"})


def test_the_operator_can_decide_an_upstream_package() -> None:
    builtin = releases.load()
    assert builtin.at("apigee-cassandra", "2.1.16-0.0.2046", "4.18.01") is None
    own = releases.load({"4.18.01": {"apigee-cassandra": "2.1.16-0.0.2046"}})
    assert own.at("apigee-cassandra", "2.1.16-0.0.2046", "4.18.01") is True
    assert own.at("apigee-cassandra", "2.1.13-0.0.1017", "4.18.01") is False
    assert builtin.at("apigee-postgresql", "9.6.8-0.0.1120", "4.18.01") is True
    assert builtin.at("apigee-postgresql", "9.4.5-0.0.1019", "4.18.01") is False
