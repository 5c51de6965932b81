"""Rewrite the lab cases (tests/facts/KIND/lab-*.yaml) from a fresh 5-node lab.

Like the plan goldens, these only prove something once a person has read the diff:
`python -m tests.facts.capture && git diff tests/facts`.
"""
from __future__ import annotations

import base64
import json
import tempfile
import urllib.request
from pathlib import Path

import yaml

from fleet.facts.cli import fact_of
from lab import Lab
from tests.lab.sshclient import Node

HERE = Path(__file__).parent


class Literal(str):
    pass


yaml.add_representer(Literal, lambda d, s: d.represent_scalar("tag:yaml.org,2002:str", s, style="|"))


def write(kind: str, name: str, what: str, output: str, **args: object) -> None:
    fact = fact_of(kind, output, **args)  # type: ignore[arg-type]
    case = {"source": f"lab: {what}", **({"args": args} if args else {}),
            "output": Literal(output if output.endswith("\n") else output + "\n"),
            "expected": fact}
    (HERE / kind / f"{name}.yaml").write_text(yaml.dump(case, sort_keys=False, width=100))
    print("wrote", kind, name)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, \
            Lab.start(topology="5-node", directory=tmp, speed=0.0) as lab:
        m4, m1, m5 = Node(lab, "m4"), Node(lab, "m1"), Node(lab, "m5")
        bin_ = f"{m4.root}/apigee-service/bin"
        write("apigee-version", "lab-sax-node-4.16.09", "5-node lab, m4 (sax) before the update",
              m4.ok(f"{bin_}/apigee-all version 2>&1"), target="4.18.01",
              override=lab_releases(lab))
        m4.ok(f"{bin_}/apigee-service edge-qpid-server stop")
        write("apigee-status", "lab-one-stopped", "5-node lab, m4 with edge-qpid-server stopped",
              m4.run(f"{bin_}/apigee-all status 2>&1")[1])
        write("qpid-stat", "lab-backlog-and-dead-letters",
              "5-node lab, m4's broker with its Qpid Server stopped: a backlog above 1,000 and "
              "a dead-letter queue holding 323 messages",
              m4.ok(f"{m4.root}/apigee-qpidd/bin/qpid-stat -q"))
        write("getenforce", "lab-disabled", "5-node lab, m1", m1.ok("getenforce"))
        write("postgres-check", "lab-standby", "5-node lab, m5 (standby) before the update; "
              "no public capture of this output exists, so the runner reads only its exit status",
              m5.ok(f"{m5.root}/apigee-service/bin/apigee-service apigee-postgresql "
                    "postgres-check-standby"))
        write("servers", "lab-gateway-pod", "5-node lab, GET /v1/servers?pod=gateway&region=dc-1",
              servers(lab))


def lab_releases(lab: Lab) -> dict:
    return yaml.safe_load(lab.config_path.read_text())["user_defined"]["releases"]


def servers(lab: Lab) -> str:
    cfg = yaml.safe_load(lab.config_path.read_text())["user_defined"]
    sec = yaml.safe_load(Path(cfg["secrets_file"]).read_text())
    req = urllib.request.Request(f"{cfg['management_url']}/v1/servers?pod=gateway&region=dc-1")
    token = base64.b64encode(f"{sec['admin_email']}:{sec['admin_password']}".encode()).decode()
    req.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(req, timeout=10) as resp:
        text = resp.read().decode()
    json.loads(text)
    return text


if __name__ == "__main__":
    main()
