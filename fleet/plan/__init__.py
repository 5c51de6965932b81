"""Pure planning: inventory and settings in, a Plan out (see builder.build_plan)."""
from fleet.plan.builder import WAVE_HELP, WAVE_NAMES, build_plan
from fleet.plan.select import Selection, select

__all__ = ["WAVE_HELP", "WAVE_NAMES", "Selection", "build_plan", "select"]
