"""Preflight, node preparation and the closing validation (procedure.md sections 2, 3, 7)."""
from __future__ import annotations

from fleet.model import Batch, Step, Wave, batch_of
from fleet.plan.context import Context, chunks
from fleet.plan.quote import q
from fleet.plan.postgres import rollback_nodes

CRON_MARK = "#fleet-disabled# "
CRON_DISABLE = "sed -E '/nodetool.*repair/ s/^([^#])/" + CRON_MARK + "\\1/'"
CRON_RESTORE = "sed -E 's/^" + CRON_MARK + "//'"


def cron_edit(ctx: Context, sed: str) -> str:
    """Rewrite the repair lines of the crontab in place, leaving every other job alone."""
    return f"{ctx.root('crontab -l')} 2>/dev/null | {sed} | {ctx.root('crontab -')}"
EPEL = "https://dl.fedoraproject.org/pub/epel/epel-release-latest-{v}.noarch.rpm"


def preflight(ctx: Context) -> Wave:
    """Read-only checks of section 2-3 on every node; a failure changes nothing. The
    rollback standby (no Apigee yet) gets its SELinux check here too, so that it fails the
    run before the master's replication rules change, and its SSH session opens alongside
    the others'."""
    chains = []
    for n in ctx.updatable():
        f = q(n.config_file)
        chain = [
            ctx.fact_check(n, "check_status", ctx.all_cmd(n, "status"), "apigee-status"),
            ctx.check(n, "check_config", f"test -r {f}"),
            ctx.check(n, "check_smtp",
                      f"! grep -qiE '^SKIP_SMTP=\"?n' {f} || grep -qE '^SMTPMAILFROM=.+' {f}"),
            ctx.selinux_check(n),
        ]
        if ctx.settings["external_auth"]:
            chain.append(ctx.check(n, "check_external_auth",
                                   f"grep -qE '^IS_EXTERNAL_AUTH=\"?true' {f}"))
        chains.append(chain)
    rollback = rollback_nodes(ctx)
    if rollback is not None:
        chains.append([ctx.selinux_check(rollback[2])])
    return Wave("preflight", (batch_of(chains, "checks"),))


def _repo_steps(ctx: Context, n) -> list[Step]:
    plat = ctx.settings["platform"]
    steps = [ctx.step(n, "yum_utils", ctx.root("yum install -y yum-utils yum-plugin-priorities"))]
    if plat["epel"]:
        v = "6" if plat["os"] == "rhel6" else "7"
        steps.append(ctx.step(n, "epel", ctx.root(f"yum install -y {EPEL.format(v=v)}")))
    if plat["os"] == "oracle7":
        steps.append(ctx.step(n, "yum_config", ctx.root("yum-config-manager --enable ol7_optional_latest")))
    if plat["os"] == "aws7":
        region = q(plat["aws_region"] or "REGION")
        steps.append(ctx.step(n, "yum_rhui", ctx.root("yum update -y rh-amazon-rhui-client.noarch")))
        steps.append(ctx.step(n, "yum_config", ctx.root(
            f"yum-config-manager --enable rhui-{region}-rhel-server-extras "
            f"rhui-{region}-rhel-server-optional")))
    return steps


def prepare(ctx: Context) -> Wave:
    """Section 3 on every node, and Cassandra repair cron jobs disabled for the run."""
    chains = []
    for n in ctx.updatable():
        chain = _repo_steps(ctx, n) + ctx.bootstrap(n, ctx.target)
        chain.append(ctx.service(n, "apigee-setup", "update", "setup_update"))
        if n.has("ms"):
            chain.append(ctx.service(n, "apigee-validate", "update", "validate_update"))
            chain.append(ctx.service(n, "apigee-provision", "update", "provision_update"))
        if n.has("cs"):
            chain.append(ctx.step(n, "cron_disable", cron_edit(ctx, CRON_DISABLE)))
        chains.append(chain)
    size = int(ctx.settings["concurrency.prepare"])
    return Wave("prepare", tuple(batch_of(c, "prepare") for c in chunks(chains, size)))


def validate(ctx: Context) -> Wave:
    """Section 7: apigee-validate on one Management Server, cron restored, versions final."""
    batches: list[Batch] = []
    ms = ctx.with_("ms")
    if ms:
        n = ms[0]
        batches.append(batch_of([[
            ctx.service(n, "apigee-validate", "setup", "validate_setup", f"-f {q(n.config_file)}"),
            ctx.service(n, "apigee-validate", "clean", "validate_clean", f"-f {q(n.config_file)}"),
        ]], "apigee-validate"))
    chains = []
    for n in ctx.updatable():
        chain = []
        if n.has("cs"):
            chain.append(ctx.step(n, "cron_restore", cron_edit(ctx, CRON_RESTORE)))
        chain.append(ctx.versions_check(n, n.components, "final_versions"))
        chains.append(chain)
    batches.append(batch_of(chains, "restore and verify"))
    return Wave("validate", tuple(batches))


