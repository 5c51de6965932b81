"""Errors the CLI turns into messages instead of tracebacks."""


class InputError(Exception):
    """Bad inventory, config or arguments: refused before any host is touched (exit 2)."""


class RunFailed(Exception):
    """A step, gate or batch failed; the run stopped (exit 1)."""
