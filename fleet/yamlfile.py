"""Reading the YAML files a user hands us: one wording for every way they can be wrong."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from fleet.errors import InputError

# libyaml's safe loader where PyYAML was built with it: a 5,000-host inventory in a third of
# the time.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_mapping(path: Path | str, what: str, required: bool = True) -> dict[str, Any]:
    """The file's top-level mapping; {} for an absent optional file or an empty one."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if required:
            raise InputError(f"{what}: {path} not found") from None
        return {}
    except OSError as exc:
        raise InputError(f"{what}: cannot read {path}: {exc.strerror}") from None
    try:
        data = yaml.load(text, Loader=SAFE_LOADER) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"{what}: {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"{what}: {path} must be a mapping")
    return data
