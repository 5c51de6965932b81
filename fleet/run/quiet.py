"""Library loggers kept off the operator's terminal.

paramiko logs a closing transport's socket errors ("Socket exception: Broken pipe") and
Nornir the traceback of every failed sub-task through logging's last-resort handler, onto
the terminal. The journal records every step with its reason and the summary quotes it, so
these stay out of the way (Edge updates and Apigee X region runs alike).
"""
from __future__ import annotations

import logging

LIBRARIES = ("paramiko", "nornir")


def quiet_libraries() -> None:
    for name in LIBRARIES:
        quiet = logging.getLogger(name)
        if not any(isinstance(h, logging.NullHandler) for h in quiet.handlers):
            quiet.addHandler(logging.NullHandler())
