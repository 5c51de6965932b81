#!/usr/bin/env python3
"""The fleet runner: `python runner.py --help`."""
import sys

from fleet.cli import main

if __name__ == "__main__":
    sys.exit(main())
