"""Host logs, the journal's bounded tail and the hold prompt, without a lab."""
from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import ClassVar

from fleet.run.holds import HoldKeeper
from fleet.run.hostlog import HostLogs, tail
from fleet.run.identity import banner, resume_argv, resume_command
from fleet.run.journal import Journal
from fleet.secrets import Secrets


def test_tail_is_bounded_in_lines_and_characters():
    text = "\n".join(f"line {i}" for i in range(1, 31))
    assert tail(text).splitlines() == [f"line {i}" for i in range(11, 31)]
    huge = "x" * 100_000 + "END"
    cut = tail(huge)
    assert len(cut) == 4000 and cut.startswith("…") and cut.endswith("END")


def test_a_step_in_the_host_log_whole_delimited_and_masked(tmp_path: Path):
    logs = HostLogs(tmp_path, "R1", 2, Secrets({"repo_password": "Sup3r-Secret-Value"}))
    base = {"host": "m1", "wave": "edge", "batch": 1, "key": "6/1/m1/0", "action": "update",
            "kind": "shell", "command": "update.sh -c edge", "start": 100.0}
    logs.on_event("step_start", base)
    output = "\n".join(f"out {i}" for i in range(1, 51)) + "\npassword Sup3r-Secret-Value"
    logs.on_event("step_end", dict(base, status="failed", rc=1, error="exit status 1",
                                   end=112.5, output="cut", full_output=output))
    text = (tmp_path / "hosts" / "m1.log").read_text()
    assert text.startswith("##### run R1 attempt 2\n===== 1970-01-01 00:01:40.000Z START update "
                           "(edge batch 2, step 6/1/m1/0, shell)\n$ update.sh -c edge\nout 1\n")
    assert "out 50\npassword ********\n===== 1970-01-01 00:01:52.500Z END update: exit status 1, " \
           "FAILED: exit status 1 (12.5s)\n" in text
    assert "Sup3r" not in text
    quote = logs.quote("m1")
    assert quote[0] == "    last 10 line(s) of update:" and quote[1] == "      | out 42"
    assert quote[-2] == "      | password ********"
    assert quote[-1] == f"    whole output: {tmp_path / 'hosts' / 'm1.log'}"
    assert logs.quote("m2") == []
    gate = dict(base, host="m3", action="gate_versions", kind="check")
    logs.on_event("step_end", dict(gate, status="failed", rc=0, error="not at 4.18.01: edge-router",
                                   end=101.0, full_output="edge-router-4.16.09-0.0.1\n"))
    assert logs.quote("m3") == [f"    whole output: {tmp_path / 'hosts' / 'm3.log'}"]


class _Progress:
    class live:
        calls: ClassVar[list[str]] = []

        @classmethod
        def stop(cls) -> None:
            cls.calls.append("stop")

        @classmethod
        def start(cls) -> None:
            cls.calls.append("start")


def _keeper(tmp_path: Path, answer, tty: bool = True, attempt: int = 1) -> tuple[HoldKeeper, Journal]:
    journal = Journal(tmp_path, attempt)

    def ask(_: str) -> str:
        if isinstance(answer, BaseException):
            raise answer
        return answer
    return HoldKeeper(journal, _Progress, ask, tty), journal


def test_the_hold_asks_on_a_terminal_and_only_yes_goes_on(tmp_path: Path):
    for answer, stops in (("y", False), ("YES", False), ("", True), ("n", True),
                          (EOFError(), True)):
        keeper, journal = _keeper(tmp_path / str(len(list(tmp_path.iterdir()))), answer)
        journal.folder.mkdir()
        assert keeper(3, 1, "cs_zk", "pause after wave cs_zk") is stops, answer
        (end,) = [e for e in journal.events() if e["event"] == "hold_end"]
        assert end["answer"] == ("stop" if stops else "continue")
    assert _Progress.live.calls[:2] == ["stop", "start"]       # the panel is not drawn over it


def test_without_a_terminal_the_hold_stops_and_a_resumed_attempt_passes_it(tmp_path: Path):
    keeper, journal = _keeper(tmp_path, AssertionError("asked"), tty=False)
    assert keeper(3, 1, "cs_zk", "why") is True
    journal.close()
    keeper, journal = _keeper(tmp_path, AssertionError("asked"), tty=True, attempt=2)
    assert keeper.passed == {(3, 1)}                  # reached by the first attempt
    assert keeper(3, 1, "cs_zk", "why") is False
    answers = [(e["attempt"], e["answer"]) for e in journal.events() if e["event"] == "hold_end"]
    assert answers == [(1, "no terminal"), (2, "resumed")]


def test_a_resumed_attempt_announces_only_the_holds_it_will_ask_at(tmp_path: Path):
    holds = [{"wave": "cs_zk", "wave_index": 3, "batch": 1, "reason": "a"},
             {"wave": "edge", "wave_index": 6, "batch": 2, "reason": "b"}]

    class _Plan:
        def holds(self) -> list[dict]:
            return holds
    keeper, journal = _keeper(tmp_path, AssertionError("asked"), tty=False)
    assert keeper.ahead(_Plan()) == holds                 # type: ignore[arg-type]
    keeper(3, 1, "cs_zk", "a")
    journal.close()
    keeper, _ = _keeper(tmp_path, AssertionError("asked"), attempt=2)
    assert keeper.ahead(_Plan()) == holds[1:]             # type: ignore[arg-type]


def test_the_resume_command_holds_paths_never_secrets(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = argparse.Namespace(config="my config.yaml", inventory="inv", secrets="s.yaml",
                              yes=True, reports=None)
    argv = resume_argv(args, "R-1", Path("reports"))
    assert argv[2:] == ["--resume", "R-1", "--config", str(tmp_path / "my config.yaml"),
                        "--inventory", str(tmp_path / "inv"), "--secrets", str(tmp_path / "s.yaml"),
                        "--reports", str(tmp_path / "reports"), "--yes"]
    assert shlex.split(resume_command(args, "R-1", Path("reports"))) == argv


def test_a_relative_secrets_file_of_the_config_travels_in_the_resume_command(tmp_path: Path,
                                                                             monkeypatch):
    """The config's secrets_file is read from the current directory: pasted elsewhere, the
    resume command must name it absolutely (an absolute one is found anyway)."""
    monkeypatch.chdir(tmp_path)
    args = argparse.Namespace(config="config.yaml", inventory=None, secrets=None, yes=False,
                              reports=None)
    argv = resume_argv(args, "R-1", Path("reports"), "private/secrets.yaml")
    assert argv[argv.index("--secrets") + 1] == str(tmp_path / "private" / "secrets.yaml")
    assert "--secrets" not in resume_argv(args, "R-1", Path("reports"), "/etc/fleet/s.yaml")
    args.secrets = "given.yaml"                           # --secrets wins over the config
    argv = resume_argv(args, "R-1", Path("reports"), "private/secrets.yaml")
    assert argv[argv.index("--secrets") + 1] == str(tmp_path / "given.yaml")


def test_secrets_from_the_environment_are_named_never_shown(monkeypatch, tmp_path: Path):
    monkeypatch.delenv("FLEET_ADMIN_PASSWORD", raising=False)
    monkeypatch.setenv("FLEET_REPO_PASSWORD", "Rp-value-1")
    text = banner("R-1", tmp_path, "python3 runner.py --resume R-1", 1,
                  [{"wave": "cs_zk", "batch": 1, "reason": "pause after wave cs_zk"}])
    lines = text.splitlines()
    assert lines[0] == "run R-1" and lines[2] == "  to resume if it stops: python3 runner.py --resume R-1"
    assert "FLEET_REPO_PASSWORD" in lines[3] and "FLEET_ADMIN_PASSWORD" not in lines[3]
    assert "Rp-value-1" not in text
    assert lines[4] == "  hold points (the run asks there): cs_zk batch 2 (pause after wave cs_zk)"
