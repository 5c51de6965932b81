"""What every wave builder needs: the nodes in vendor order, the settings, and the exact
command lines of the node tools (procedure.md section 1 paths)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Iterable, TypeVar

from fleet.components import SERVICES, SERVER_TYPES, UPDATE_CODE
from fleet.facts import getenforce, postgres_check
from fleet.model import CHECK, HTTP, PAUSE, POLL, SHELL, Node, Prompt, Request, Step
from fleet.plan.quote import q
from fleet.settings import Settings

MAINTENANCE, ZERO_DOWNTIME = "maintenance", "zero-downtime"
UPDATE_CODE_ORDER = ("cs", "zk", "ldap", "qpid", "ps", "edge", "ui", "e", "b", "p")
REPO_USER_VAR = "APIGEE_REPO_USER"
REPO_PASSWORD_VAR = "APIGEE_REPO_PASSWORD"
PASSWORD_PROMPT = r"[Pp]assword[^\n]*:\s*$"


@dataclass(frozen=True)
class Context:
    nodes: tuple[Node, ...]          # vendor order: machine number, then inventory order
    settings: Settings
    mode: str = MAINTENANCE

    @classmethod
    def build(cls, nodes: Iterable[Node], settings: Settings, mode: str) -> "Context":
        indexed = list(enumerate(nodes))
        indexed.sort(key=lambda p: (p[1].machine is None, p[1].machine or 0, p[0]))
        return cls(tuple(n for _, n in indexed), settings, mode)

    # --- who is who -------------------------------------------------------------------
    @property
    def zero_downtime(self) -> bool:
        return self.mode == ZERO_DOWNTIME

    def updatable(self) -> list[Node]:
        """Every node the update touches: all but the rollback standby."""
        return list(self._updatable)

    @cached_property
    def _updatable(self) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n.postgres != "rollback_standby")

    def with_(self, *components: str) -> list[Node]:
        return [n for n in self.updatable() if n.has(*components)]

    def role(self, role: str) -> Node | None:
        return next((n for n in self.nodes if n.postgres == role), None)

    @property
    def target(self) -> str:
        return str(self.settings["target_version"])

    @cached_property
    def management_url(self) -> str:
        url = self.settings["management_url"]
        if url:
            return str(url).rstrip("/")
        ms = self.with_("ms")
        return f"http://{ms[0].address}:8080" if ms else "http://MANAGEMENT-SERVER:8080"

    # --- command lines ------------------------------------------------------------------
    def root(self, cmd: str) -> str:
        return f"sudo {cmd}" if self.settings["become"] == "sudo" else cmd

    def step(self, node: Node, action: str, command: str, kind: str = SHELL, **kw: object) -> Step:
        """A step with ``timeouts.default`` unless given: a wave's long steps get their class
        from the wave registry (fleet/plan/waves.py); update.sh and bootstrap set their own."""
        kw.setdefault("timeout", self.settings.timeout("default"))
        return Step(host=node.name, action=action, command=command, kind=kind, **kw)  # type: ignore[arg-type]

    def service_cmd(self, node: Node, service: str, verb: str, extra: str = "") -> str:
        cmd = f"{q(node.apigee_root)}/apigee-service/bin/apigee-service {service} {verb}"
        return self.root(f"{cmd} {extra}" if extra else cmd)

    def service(self, node: Node, service: str, verb: str, action: str | None = None,
                extra: str = "") -> Step:
        return self.step(node, action or verb, self.service_cmd(node, service, verb, extra))

    def component(self, node: Node, component: str, verb: str, action: str | None = None) -> Step:
        return self.service(node, SERVICES[component], verb, action or f"{verb}_{component}")

    def all_cmd(self, node: Node, verb: str) -> str:
        return self.root(f"{q(node.apigee_root)}/apigee-service/bin/apigee-all {verb}")

    def update(self, node: Node, components: Iterable[str]) -> Step:
        codes = {UPDATE_CODE[c] for c in components}
        ordered = ",".join(c for c in UPDATE_CODE_ORDER if c in codes)
        cmd = (f"{q(node.apigee_root)}/apigee-setup/bin/update.sh -c {ordered} "
               f"-f {q(node.config_file)}")
        return self.step(node, "update", self.root(cmd), timeout=self.settings.timeout("update"))

    def iptables(self, node: Node, op: str, rule: str) -> str:
        return self.root(f"iptables {op} INPUT {rule}")

    def qpid_rule(self, node: Node) -> str:
        iface = q(self.settings["firewall_interface"])
        return f"-p tcp --destination-port 5672 ! -s {q(node.address)} -i {iface} -j DROP"

    def router_rule(self) -> str:
        return f"-i {q(self.settings['firewall_interface'])} -p tcp --dport 15999 -j REJECT"

    # --- checks ---------------------------------------------------------------------------
    def check(self, node: Node, action: str, command: str) -> Step:
        """A read-only step that passes by its exit status."""
        return self.step(node, action, command, kind=CHECK)

    def fact_check(self, node: Node, action: str, command: str, fact: str,
                   **args: object) -> Step:
        """A read-only step whose output must hold a fact (fleet.facts.CHECKS)."""
        return self.step(node, action, command, kind=CHECK, fact=fact, fact_args=args)

    def selinux_check(self, node: Node) -> Step:
        """Section 3: the update refuses to run with SELinux enforcing."""
        return self.fact_check(node, "check_selinux", getenforce.COMMAND, "getenforce")

    def packages_check(self, node: Node, command: str, packages: Iterable[str],
                       action: str) -> Step:
        """These packages listed at the target release (fleet.facts.releases decides)."""
        args: dict[str, object] = {"target": self.target, "packages": sorted(set(packages))}
        if self.settings["releases"]:
            args["releases"] = self.settings["releases"]
        return self.fact_check(node, action, command, "apigee-version", **args)

    def versions_check(self, node: Node, components: Iterable[str], action: str) -> Step:
        """apigee-all version must show each of these components at the target."""
        return self.packages_check(node, self.all_cmd(node, "version"),
                                   [SERVICES[c] for c in components], action)

    def postgres_check(self, node: Node, role: str) -> Step:
        """Section 6: the check's exit status, and the configured pattern if there is one."""
        pattern = self.settings[f"postgres.{role}_pattern"]
        args = {"pattern": pattern} if pattern else {}
        return self.fact_check(node, f"check_{role}",
                               self.root(postgres_check.command(q(node.apigee_root), role)),
                               "postgres-check", **args)

    def poll(self, node: Node, action: str, command: str, until: str, interval: float,
             timeout: float, on_failure: Iterable[Step] = ()) -> Step:
        return Step(host=node.name, action=action, command=command, kind=POLL, until=until,
                    interval=float(interval), timeout=float(timeout),
                    on_failure=tuple(on_failure))

    def pause(self, node: Node, action: str, seconds: float, why: str) -> Step:
        return Step(host=node.name, action=action, command=f"pause {seconds:g}s: {why}",
                    kind=PAUSE, timeout=float(seconds))

    # --- management API -------------------------------------------------------------------
    def server_uuid(self, node: Node, component: str, var: str) -> Step:
        pod, kind = SERVER_TYPES[component]
        url = f"{self.management_url}/v1/servers?pod={pod}&region={node.dc}"
        req = Request("GET", url, select={"internalIP": node.registered_address, "type": kind},
                      store=var)
        return self.step(node, f"uuid_{component}", f"GET {url}", kind=HTTP, request=req)

    def reachable(self, node: Node, var: str, value: bool, action: str) -> Step:
        url = f"{self.management_url}/v1/servers/${{{var}}}"
        body = {"reachable": "true" if value else "false"}
        req = Request("POST", url, body=body)
        return self.step(node, action, f"POST {url} reachable={body['reachable']}",
                         kind=HTTP, request=req)

    def deregister(self, node: Node, var: str) -> Step:
        url = f"{self.management_url}/v1/servers/${{{var}}}"
        return self.step(node, "deregister", f"DELETE {url}", kind=HTTP,
                         request=Request("DELETE", url))

    # --- bootstrap --------------------------------------------------------------------------
    def bootstrap(self, node: Node, version: str) -> list[Step]:
        """Fetch and run bootstrap_VERSION.sh; the password is answered at its prompt."""
        repo = self.settings["repository"]
        d = q(node.download_dir)
        script = q(f"bootstrap_{version}.sh")
        user_in = ((REPO_USER_VAR, "repo_user"),)
        prompt = (Prompt(PASSWORD_PROMPT, "repo_password"),)
        java = f" JAVA_FIX={q(repo['java_fix'])}" if repo["java_fix"] else ""
        fetch_in: tuple[tuple[str, str], ...] = ()
        run_kw: dict[str, Any] = {"inputs": user_in, "prompts": prompt}
        if repo["mode"] == "tar":
            fetch = f"mkdir -p {d}/repos && tar -xzf {q(repo['archive'])} -C {d}/repos"
            run = (f'bash {d}/repos/{script} apigeeprotocol="file://" '
                   f"apigeerepobasepath={d}/repos{java}")
            run_kw = {}
        elif repo["mode"] == "mirror":
            host = q(repo["mirror_host"])
            fetch = (f"printf 'user = \"%s:%s\"\\n' \"${REPO_USER_VAR}\" \"${REPO_PASSWORD_VAR}\" "
                     f"| curl -sSf -K - http://{host}/{script} -o {d}/{script}")
            fetch_in = user_in + ((REPO_PASSWORD_VAR, "repo_password"),)
            run = (f"bash {d}/{script} apigeerepohost={host} apigeeuser=\"${REPO_USER_VAR}\" "
                   f'apigeeprotocol="http://"{java}')
        else:
            fetch = f"curl -sSf https://software.apigee.com/{script} -o {d}/{script}"
            run = f"bash {d}/{script} apigeeuser=\"${REPO_USER_VAR}\"{java}"
        long = self.settings.timeout("bootstrap")
        return [self.step(node, "fetch_bootstrap", fetch, timeout=long, inputs=fetch_in),
                self.step(node, "bootstrap", self.root(run), timeout=long, **run_kw)]


T = TypeVar("T")


def chunks(items: list[T], size: int) -> list[list[T]]:
    """Consecutive groups of at most ``size`` (0 = one group of all)."""
    if not items:
        return []
    if size <= 0:
        return [items]
    return [items[i:i + size] for i in range(0, len(items), size)]


def per_dc_rounds(ctx: Context, nodes: list[Node], size: int) -> list[list[Node]]:
    """Rounds of at most ``size`` hosts per data centre; data centres side by side when
    ``dcs_in_parallel`` (our rule), else one data centre after the other."""
    by_dc: dict[str, list[Node]] = {}
    for n in nodes:
        by_dc.setdefault(n.dc, []).append(n)
    per_dc = {dc: chunks(ns, size) for dc, ns in by_dc.items()}
    if not ctx.settings["dcs_in_parallel"]:
        return [c for dc in per_dc for c in per_dc[dc]]
    rounds = max((len(c) for c in per_dc.values()), default=0)
    return [[n for dc in per_dc for n in (per_dc[dc][i] if i < len(per_dc[dc]) else [])]
            for i in range(rounds)]
