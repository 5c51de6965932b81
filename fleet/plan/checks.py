"""Poll predicates (``Step.until``) and the hints printed when a check fails."""
from __future__ import annotations

import re

# Poll predicates live with the facts they read (fleet.facts); re-exported for the executor.
from fleet.facts import PREDICATES

__all__ = ["HINTS", "PREDICATES", "readable"]


# What to do when a check fails: printed with the run's summary.
HINTS: dict[str, str] = {
    "check_status": "a component is not running: start it (apigee-all start) and check "
                    "apigee-all status before the update",
    "check_config": "the silent config file is missing or unreadable: fix data.config_file",
    "check_smtp": "SKIP_SMTP=n needs SMTPMAILFROM in the config file, e.g. "
                  "SMTPMAILFROM=\"My Company <myco@company.com>\" (required since 4.17.05)",
    "check_external_auth": "external LDAP/AD: set IS_EXTERNAL_AUTH=true in the config file",
    "check_selinux": "SELinux is enforcing: setenforce 0 and SELINUX=permissive in "
                     "/etc/selinux/config",
    "check_master": "postgres-check-master failed (exit status or user_defined.postgres."
                    "master_pattern): check PostgreSQL on the master, then resume",
    "check_standby": "postgres-check-standby failed: the standby does not replicate from the "
                     "master; rebuild it (setup-replication-on-standby), then resume",
    "gate_versions": "an earlier wave has not reached these hosts (or failed there): run it "
                     "first, on every data centre; a package whose build 'cannot be decided' "
                     "needs its target build in user_defined.releases (README, At target)",
    "gate_prepared": "run the prepare wave on these hosts first",
    "qpid_drain": "the broker did not drain: check its Qpid Server and PostgreSQL are up, "
                  "then resume (the block was removed)",
}


def readable(regex: str) -> str:
    """An ``expect`` regex as the text it looks for, for failure messages."""
    text = regex.removeprefix("(?m)^")
    return re.sub(r"\\(.)", r"\1", text).replace("[.]", ".")
