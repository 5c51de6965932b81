"""One colour per wave name, the same in every report whichever waves ran, so that an
operator comparing two runs (or two attempts) reads `cs_zk` as the same orange everywhere.
Red is left out: it marks failures."""
from __future__ import annotations

import zlib

# matplotlib's tab20 colours, given by hand so the table does not move with matplotlib
WAVES = {
    # Edge update waves, in plan order
    "preflight": "#7f7f7f", "rollback_add": "#c49c94", "prepare": "#1f77b4",
    "cs_zk": "#ff7f0e", "qpid": "#2ca02c", "ldap": "#9467bd", "edge": "#17becf",
    "ui": "#e377c2", "postgres": "#8c564b", "edge_pg": "#bcbd22", "baas_e": "#aec7e8",
    "baas_b": "#ffbb78", "baas_p": "#98df8a", "rollback_retire": "#c5b0d5",
    "validate": "#dbdb8d",
    # rollback waves (fleet/rollback/planner.py; never in the same run as the update waves):
    # a component's rollback in the colour of its update
    "rb_restore": "#ff7f0e", "rb_postgres": "#8c564b", "rb_edge": "#17becf", "rb_ui": "#e377c2",
    "rb_ldap": "#9467bd", "rb_qpid": "#2ca02c", "rb_check": "#dbdb8d",
    # Apigee X region waves (never in the same run as the update waves)
    "ranges": "#1f77b4", "keys": "#ff7f0e", "instances": "#2ca02c", "routing": "#9467bd",
    "drain": "#17becf", "detach": "#e377c2", "delete": "#8c564b",
}
SPARE = ("#7f7f7f", "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#17becf", "#e377c2",
         "#8c564b", "#bcbd22", "#aec7e8", "#ffbb78", "#98df8a", "#c5b0d5", "#dbdb8d",
         "#9edae5", "#f7b6d2", "#c7c7c7")


def wave_colour(name: str) -> str:
    """The wave's fixed colour; a wave this table does not know gets one chosen by a
    checksum of its name (stable between runs and machines, unlike ``hash``)."""
    return WAVES.get(name) or SPARE[zlib.crc32(name.encode("utf-8")) % len(SPARE)]
