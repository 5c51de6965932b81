"""OS-level commands of a node: iptables, crontab, getenforce, yum, qpid-stat, curl."""
from __future__ import annotations

import ipaddress

from lab.commands import Ctx, command
from lab.state import ANALYTICS_QUEUE, OPERATOR_RULE, HostState, LabState

ALIASES = {"--destination-port": "--dport", "--source-port": "--sport", "--source": "-s",
           "--destination": "-d", "--protocol": "-p", "--jump": "-j", "--in-interface": "-i",
           "--append": "-A", "--delete": "-D"}


def normalize(rule: list[str]) -> list[str]:
    """Canonical form for comparing rules: long options aliased, ``-m tcp`` dropped."""
    out: list[str] = []
    skip = False
    for i, a in enumerate(rule):
        if skip:
            skip = False
            continue
        if a in ("-m", "--match") and i + 1 < len(rule) and rule[i + 1] == "tcp":
            skip = True
            continue
        out.append(ALIASES.get(a, a))
    return out


def _opt(rule: list[str], name: str) -> tuple[str | None, bool]:
    """Value of an option and whether it is negated with a preceding ``!``."""
    r = normalize(rule)
    for i, a in enumerate(r):
        if a == name and i + 1 < len(r):
            return r[i + 1], i > 0 and r[i - 1] == "!"
    return None, False


def _src_match(st: LabState, spec: str, src: str) -> bool:
    target = st.by_address(spec)
    if target is not None:
        return target.address == src
    try:
        return ipaddress.ip_address(src) in ipaddress.ip_network(spec, strict=False)
    except ValueError:
        return False


def blocked(st: LabState, h: HostState, port: int, src: str) -> bool:
    """Whether the host's INPUT chain drops/rejects TCP to ``port`` from ``src``."""
    iface = "lo" if src == h.address else "eth0"
    for rule in h.firewall:
        if len(rule) < 2 or rule[1] != "INPUT":
            continue
        dport, _ = _opt(rule, "--dport")
        if dport is not None and dport != str(port):
            continue
        s, neg = _opt(rule, "-s")
        if s is not None and _src_match(st, s, src) == neg:
            continue
        i, ineg = _opt(rule, "-i")
        if i is not None and (i == iface) == ineg:
            continue
        target, _ = _opt(rule, "-j")
        return target in ("DROP", "REJECT")
    return False


OUTSIDE = "10.255.255.254"      # a client that is no host of the installation


def open_to(st: LabState, h: HostState, port: int) -> list[str]:
    """Other hosts (or 'outside' clients) that can still reach ``port`` on the host."""
    others = [(x.name, x.address) for x in st.hosts.values() if x is not h]
    return [name for name, addr in others + [("outside", OUTSIDE)]
            if not blocked(st, h, port, addr)]


def judge_broker_closed(st: LabState, h: HostState, what: str) -> None:
    """Rule 13: a broker is drained and updated only while 5672 is closed to every other
    host; open, MPs keep filling it, so the drain never ends or ends by chance."""
    reach = open_to(st, h, 5672)
    if reach:
        st.violate(13, h.name, f"{what} while its 5672 is open to {', '.join(reach[:3])}"
                               + (" ..." if len(reach) > 3 else ""))


def _listing(h: HostState, numeric: bool) -> list[str]:
    out = []
    for chain in ("INPUT", "FORWARD", "OUTPUT"):
        out += [f"Chain {chain} (policy ACCEPT)", f"{'target':<10} prot opt {'source':<20} destination"]
        for rule in h.firewall:
            if rule[1] != chain:
                continue
            target, _ = _opt(rule, "-j")
            proto, _ = _opt(rule, "-p")
            s, neg = _opt(rule, "-s")
            src = ("!" if neg else "") + (s or "0.0.0.0/0")
            extra = []
            dport, _ = _opt(rule, "--dport")
            if dport:
                extra.append(f"{proto or 'tcp'} dpt:{dport}")
            if target == "REJECT":
                extra.append("reject-with icmp-port-unreachable")
            out.append(f"{target or '':<10} {proto or 'all':<4} --  {src:<20} {'0.0.0.0/0':<20} {' '.join(extra)}".rstrip())
        out.append("")
    return out[:-1]


def _check_operator_rule(ctx: Ctx) -> None:
    if normalize(OPERATOR_RULE) not in [normalize(r) for r in ctx.host.firewall]:
        ctx.st.violate(3, ctx.host.name, "operator firewall rule removed: " + " ".join(OPERATOR_RULE)
                       + f" (by `iptables {' '.join(ctx.argv)}`)")


@command("iptables")
async def iptables(ctx: Ctx) -> int:
    a = [x for x in ctx.argv if x not in ("-w", "--wait")]
    h = ctx.host
    if not a:
        ctx.err("iptables v1.4.21: no command specified\nTry `iptables -h' for more information.")
        return 2
    op = ALIASES.get(a[0], a[0])
    if op in ("-L", "--list"):
        ctx.out("\n".join(_listing(h, "-n" in a)))
        return 0
    if op in ("-S", "--list-rules"):
        ctx.out("\n".join(["-P INPUT ACCEPT", "-P FORWARD ACCEPT", "-P OUTPUT ACCEPT"]
                          + [" ".join(r) for r in h.firewall]))
        return 0
    if op in ("-F", "--flush"):
        chain = a[1] if len(a) > 1 else None
        h.firewall = [r for r in h.firewall if chain is not None and r[1] != chain]
        _check_operator_rule(ctx)
        return 0
    if op in ("-A", "-D", "-C", "-I") and len(a) >= 2:
        rule = ["-A", a[1]] + a[2:]
        if op == "-A":
            h.firewall.append(rule)
            return 0
        if op == "-I":
            h.firewall.insert(0, rule)
            return 0
        if op == "-D" and len(a) == 3 and a[2].isdigit():
            n = int(a[2])
            chain_rules = [r for r in h.firewall if r[1] == a[1]]
            if not 1 <= n <= len(chain_rules):
                ctx.err("iptables: Index of deletion too big.")
                return 1
            h.firewall.remove(chain_rules[n - 1])
            _check_operator_rule(ctx)
            return 0
        key = normalize(rule)
        for r in h.firewall:
            if normalize(r) == key:
                if op == "-D":
                    h.firewall.remove(r)
                    _check_operator_rule(ctx)
                return 0
        ctx.err("iptables: Bad rule (does a matching rule exist in that chain?).")
        return 1
    ctx.err(f"iptables v1.4.21: unknown option \"{a[0]}\"\nTry `iptables -h' for more information.")
    return 2


@command("crontab")
async def crontab(ctx: Ctx) -> int:
    a = list(ctx.argv)
    if "-u" in a:
        i = a.index("-u")
        del a[i:i + 2]
    h = ctx.host
    if a == ["-l"]:
        if h.crontab is None:
            ctx.err("no crontab for apigee")
            return 1
        ctx.out(h.crontab, end="")
        return 0
    if a == ["-r"]:
        h.crontab = None
        return 0
    if len(a) == 1 and not a[0].startswith("-") or a == ["-"]:
        if a == ["-"]:
            text = await ctx.readall()
        else:
            try:
                text = ctx.path(a[0]).read_text()
            except OSError as exc:
                ctx.err(f"crontab: {a[0]}: {exc.strerror}")
                return 1
        h.crontab = text if text.endswith("\n") or not text else text + "\n"
        return 0
    ctx.err("usage:\tcrontab [-u user] file\n\tcrontab [-u user] [ -e | -l | -r ]")
    return 1


@command("getenforce")
async def getenforce(ctx: Ctx) -> int:
    ctx.out(ctx.host.selinux)
    return 0


@command("yum")
async def yum(ctx: Ctx) -> int:
    ctx.host.yum.append(["yum"] + ctx.argv)
    ctx.out("Loaded plugins: fastestmirror, priorities")
    ctx.out("Loading mirror speeds from cached hostfile")
    await ctx.sleep("yum")
    pkgs = [x for x in ctx.argv if not x.startswith("-") and x not in ("install", "update")]
    for p in pkgs:
        ctx.out(f"Package {p} already installed and latest version" if "install" in ctx.argv
                else f"No packages marked for update: {p}")
    ctx.out("Nothing to do")
    return 0


@command("yum-config-manager")
async def yum_config_manager(ctx: Ctx) -> int:
    ctx.host.yum.append(["yum-config-manager"] + ctx.argv)
    ctx.out("Loaded plugins: fastestmirror, priorities")
    for repo in ctx.argv[ctx.argv.index("--enable") + 1:] if "--enable" in ctx.argv else []:
        ctx.out(f"================= repo: {repo} =================\nenabled = True")
    return 0


QPID_HEADS = ("queue", "dur", "autoDel", "excl", "msg", "msgIn", "msgOut", "bytes", "bytesIn",
              "bytesOut", "cons", "bind")
MSG_BYTES = 1200                                 # size of one analytics message


def kmg(value: int) -> str:
    """A count as qpid-stat prints it (qpid-cpp qpidtoollibs/disp.py, Header.num): below
    1,000 right-aligned in four places, above it three significant digits and k/m/g."""
    def cell(v: int, tag: str) -> str:
        fp = v / 1000.0
        if fp < 10.0:
            return "%1.2f%s" % (fp, tag)
        if fp < 100.0:
            return "%2.1f%s" % (fp, tag)
        return "%4d%s" % (v // 1000, tag)
    if value < 1000:
        return "%4d" % value
    if value < 1000000:
        return cell(value, "k")
    value //= 1000
    if value < 1000000:
        return cell(value, "m")
    return cell(value // 1000, "g")


def qpid_table(rows: list[list[str]], prefix: str = "  ") -> list[str]:
    """qpid-stat's table (disp.py Display.table): left-aligned cells, columns as wide as the
    widest cell plus two, a rule of '=' under the header."""
    width = [max(len(h), *(len(r[i]) for r in rows)) + 2 for i, h in enumerate(QPID_HEADS)]

    def line(cells: list[str] | tuple[str, ...]) -> str:
        return prefix + "".join(c if i == len(cells) - 1 else c.ljust(width[i])
                                for i, c in enumerate(cells))
    return ["Queues", line(QPID_HEADS), prefix + "=" * sum(width)] + [line(r) for r in rows]


@command("qpid-stat")
async def qpid_stat(ctx: Ctx) -> int:
    h = ctx.host
    if not h.up("qpid"):
        ctx.err("Failed: ConnectionError: [Errno 111] Connection refused")
        return 1
    if "-q" not in ctx.argv:
        ctx.err("Usage: qpid-stat [OPTIONS] [broker-addr]  (the lab supports -q)")
        return 1
    judge_broker_closed(ctx.st, h, "broker drain polled (qpid-stat -q)")

    def row(name: str, flags: tuple[str, str, str], msg: int, i: int, o: int, cons: int,
            bind: int) -> list[str]:
        return [name, *flags, kmg(msg), kmg(i), kmg(o), kmg(msg * MSG_BYTES),
                kmg(i * MSG_BYTES), kmg(o * MSG_BYTES), kmg(cons), kmg(bind)]
    consumers = sum(1 for x in ctx.st.with_comp("qs", h.dc) if x.up("qs"))
    rows = [row(f"{h.name}-qmf-session-0a3f:0.0", ("", "Y", "Y"), 0, 4, 4, 1, 2),
            row(ANALYTICS_QUEUE, ("Y", "", ""), h.queue, h.queue_in, h.queue_out, consumers, 2),
            # the dead-letter queue: no consumer; what lands here stays
            row(ANALYTICS_QUEUE + "-dl", ("Y", "", ""), h.dead_letter, h.dead_letter, 0, 0, 2)]
    for text in qpid_table(rows):
        ctx.out(text)
    return 0
