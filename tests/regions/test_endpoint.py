"""A leftover FLEET_GCP_ENDPOINT never quietly sends a run meant for Google elsewhere."""
from __future__ import annotations

import io
import json

from fleet.regions.cli import main
from fleet.regions.snapshot import OrgState
from fleet.run.journal import read_events
from tests.regions.conftest import PSC, spec


def test_environment_endpoint_alone_is_refused_with_yes(emulator, run_region,
                                                        monkeypatch) -> None:
    monkeypatch.setenv("FLEET_GCP_ENDPOINT", emulator.endpoint)
    rc, out, err = run_region("add", None, spec(PSC))          # --yes, no --endpoint
    assert rc == 2, out + err
    assert f"FLEET_GCP_ENDPOINT={emulator.endpoint} is set in the environment" in err
    assert "Pass --endpoint" in err and "unset FLEET_GCP_ENDPOINT to call Google" in err
    assert f"API endpoint: {emulator.endpoint} (from FLEET_GCP_ENDPOINT): NOT Google" in out
    assert emulator.mutating_calls() == []


def test_environment_endpoint_is_shown_on_a_dry_run(emulator, run_region,
                                                    monkeypatch) -> None:
    monkeypatch.setenv("FLEET_GCP_ENDPOINT", emulator.endpoint)
    rc, out, err = run_region("add", None, spec(PSC), "--dry-run")
    assert rc == 0, out + err
    assert out.startswith(f"API endpoint: {emulator.endpoint} (from FLEET_GCP_ENDPOINT)")
    assert "warning: API endpoint" in err


def test_endpoint_is_in_plan_journal_and_report(emulator, run_region) -> None:
    rc, out, err = run_region("add", emulator, spec(PSC))
    assert rc == 0, out + err
    assert out.startswith(f"API endpoint: {emulator.endpoint} (from --endpoint): NOT Google")
    (run,) = list(run_region.reports.iterdir())
    record = f"{emulator.endpoint} (from --endpoint)"
    assert json.loads((run / "plan.json").read_text())["endpoint"] == record
    assert next(read_events(run))["endpoint"] == record
    assert f"API endpoint {record}" in (run / "report.html").read_text()


def test_google_is_named_when_no_endpoint_is_set(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("FLEET_GCP_ENDPOINT", raising=False)
    state = OrgState(org="demo-org", peering={"reservedPeeringRanges": []},
                     backend_services={"apigee-xlb-backend": {}},
                     subnets={"us-west1/apigee-subnet": {"privateIpGoogleAccess": True}})
    snap = tmp_path / "s.json"
    snap.write_text(json.dumps(state.to_json()))
    plan = tmp_path / "plan.json"
    out = io.StringIO()
    args = ["add", "--project", "demo-org", "--project-number", "123456789012", "--network",
            "apigee-vpc", "--backend-service", "apigee-xlb-backend", "--location", "us-west1",
            "--routing", "psc", "--subnet", "apigee-subnet", "--snapshot", str(snap),
            "--plan-out", str(plan)]
    assert main(args, out=out) == 0
    assert out.getvalue().startswith("API endpoint: Google (https://*.googleapis.com)")
    assert json.loads(plan.read_text())["endpoint"] == "google"


def test_an_endpoint_with_credentials_or_no_url_is_refused_unshown(capsys, monkeypatch) -> None:
    base = ["add", "--spec", "inventory/regions/example.yaml", "--dry-run"]
    monkeypatch.setenv("FLEET_GCP_ENDPOINT", "http://admin:s3cret@127.0.0.1:9")
    out = io.StringIO()
    assert main(base, out=out) == 2
    err = capsys.readouterr().err
    assert "endpoint from FLEET_GCP_ENDPOINT carries credentials" in err
    assert "s3cret" not in err + out.getvalue()
    assert main([*base, "--endpoint", "http://127.0.0.1:9/?key=s3cret"], out=out) == 2
    err = capsys.readouterr().err
    assert "endpoint from --endpoint carries credentials (user:password@) or a query" in err
    assert "s3cret" not in err + out.getvalue()
    assert main([*base, "--endpoint", "127.0.0.1:8790"], out=out) == 2
    assert "endpoint '127.0.0.1:8790' (from --endpoint) is not an http(s)://host[:port] URL" \
        in capsys.readouterr().err
