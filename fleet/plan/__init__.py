"""Pure planning: inventory and settings in, a Plan out (see builder.build_plan)."""
from fleet.plan.builder import build_plan
from fleet.plan.waves import WAVE_HELP, WAVE_NAMES
from fleet.plan.select import Selection, select

__all__ = ["WAVE_HELP", "WAVE_NAMES", "Selection", "build_plan", "select"]
