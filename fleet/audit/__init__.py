"""`python runner.py audit`: the versions and states of every host, as a report and as an
exit status (0 at target and consistent, 1 not, 2 bad input), so it can gate a pipeline."""
from __future__ import annotations

import argparse
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from fleet.errors import InputError
from fleet.plan.select import filter_nodes

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise InputError(f"audit: {message} (see audit --help)")


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="runner.py audit",
                description="Read `apigee-all version` and `apigee-all status` on every host "
                            "and write reports/audit-TIMESTAMP/ (CSV and report.html).",
                epilog="exit status: 0 every host at target with every component running and "
                       "one version per component; 1 otherwise (or a host unreachable); "
                       "2 bad input.")
    p.add_argument("--dc", action="append", metavar="DC", help="only hosts of this data centre")
    p.add_argument("--hosts", action="append", metavar="A,B", help="only these hosts")
    p.add_argument("--inventory", metavar="DIR", help="Nornir SimpleInventory folder")
    p.add_argument("--config", default="config.yaml", metavar="FILE",
                   help="settings (default: config.yaml)")
    p.add_argument("--secrets", metavar="FILE", help="mode-600 YAML file of secrets")
    p.add_argument("--reports", metavar="DIR", help="where reports go (default: reports/)")
    p.add_argument("--target", metavar="VERSION",
                   help="the version every component must be at (default: target_version)")
    return p


def _names(values: list[str] | None) -> list[str]:
    return [x.strip() for v in values or [] for x in v.split(",") if x.strip()]


def select_nodes(nodes: list, dcs: list[str], hosts: list[str]) -> list:
    out = filter_nodes(nodes, dcs, hosts)
    if not out:
        raise InputError("audit: --dc and --hosts together select no host")
    return out


def finding_lines(findings: "pd.DataFrame") -> list[str]:
    """Findings for a terminal: the components of one host and one state on one line."""
    lines: dict[tuple[str, str, str], list[str]] = {}
    for _, f in findings.iterrows():
        if f["finding"] == "not at target":
            key = (f["finding"], f["host"], str(f["detail"]).split(" ")[0])
            lines.setdefault(key, []).append(f["component"])
        else:
            where = " ".join(x for x in (f["host"], f["component"]) if x)
            lines[(f["finding"], where, f["detail"])] = []
    out = []
    for (kind, where, detail), comps in lines.items():
        out.append(f"{kind}: {where}: {', '.join(comps)} at {detail}" if comps
                   else f"{kind}: {where}: {detail}")
    return out


def main(argv: list[str]) -> int:
    from fleet.audit.analyse import analyse
    from fleet.audit.collect import collect
    from fleet.audit.history import history
    from fleet.audit.report import headline, write_audit
    from fleet.inventory import load_inventory
    from fleet.secrets import load_secrets
    from fleet.settings import load_settings

    args = parser().parse_args(argv)
    settings = load_settings(Path(args.config), Path(args.inventory) if args.inventory else None)
    nodes = select_nodes(load_inventory(settings.inventory_files), _names(args.dc),
                         _names(args.hosts))
    secrets = load_secrets(args.secrets or settings["secrets_file"])
    target = args.target or str(settings["target_version"])
    reports = Path(args.reports or settings["reports_dir"])
    now = datetime.now(timezone.utc)
    stamp = now.strftime("%Y%m%dT%H%M%S")
    folder = reports / f"audit-{stamp}"
    n = 1
    while folder.exists():
        n += 1
        folder = reports / f"audit-{stamp}-{n}"
    from fleet.facts.releases import load as load_releases
    audit = analyse(target, nodes, collect(nodes, settings, secrets),
                    load_releases(settings["releases"]))
    write_audit(folder, audit, history(reports, exclude=folder),
                now.strftime("%Y-%m-%dT%H:%M:%SZ"))
    print(headline(audit))
    for line in finding_lines(audit.findings):
        print(f"  {line}")
    print(f"  report: {folder / 'report.html'}")
    return 0 if audit.ok else 1
