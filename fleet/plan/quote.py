"""A small command builder in the spirit of pyinfra's StringCommand/QuoteString: the
template is trusted text written here; every value put into it is shell-quoted.

    sh("test -r {f}", f=node.config_file)

Values are validated at load time (fleet.values) to characters ``shlex.quote`` leaves as
they are, so plans read as before; a value that was not validated still cannot become
shell code.
"""
from __future__ import annotations

import shlex
import string
from typing import Any

_FORMATTER = string.Formatter()


def q(value: Any) -> str:
    """One shell word."""
    return shlex.quote(str(value))


def sh(template: str, **values: Any) -> str:
    """The template with each ``{name}`` replaced by the quoted value."""
    for _, field, spec, conv in _FORMATTER.parse(template):
        if field is not None and (spec or conv):
            raise ValueError(f"sh(): no format spec or conversion in {{{field}}}")
    return template.format(**{k: q(v) for k, v in values.items()})
