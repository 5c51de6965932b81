"""Pure planning: inventory and settings in, a Plan out (see builder.build_plan).

Where a change goes: a new wave is an entry of the registry (waves.py) with its builder in
the module of its family (prepare, datastore, roles, postgres); a new rule of procedure.md
goes into that builder (commands through context.Context, values quoted by quote.q), with a
case in tests/plans/cases/ and its golden commands regenerated (`python -m tests.plans.regen`).
A rollback rule goes into fleet/rollback/. Nothing here reads files or talks to hosts.
"""
from fleet.plan.builder import build_plan
from fleet.plan.waves import WAVE_HELP, WAVE_NAMES
from fleet.plan.select import Selection, select

__all__ = ["WAVE_HELP", "WAVE_NAMES", "Selection", "build_plan", "select"]
