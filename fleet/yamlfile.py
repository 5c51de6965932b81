"""Reading the YAML files a user hands us: one wording for every way they can be wrong.

The loader is strict about duplicate keys: YAML says a mapping's keys are unique, PyYAML
silently keeps the last one, and Nornir's own loader then disagrees with ours about which
host is meant. A duplicate is refused with its line.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from fleet.errors import InputError

# libyaml's safe loader where PyYAML was built with it: a 5,000-host inventory in a third of
# the time.
_BASE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class StrictLoader(_BASE):  # type: ignore[misc,valid-type]
    """Safe loader that refuses a mapping with the same key twice (merge keys aside)."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.setdefault(key, key_node.start_mark.line + 1)
                except TypeError:          # an unhashable key: PyYAML's own error follows
                    continue
                if first != key_node.start_mark.line + 1:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r} (first on line {first})",
                        key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


SAFE_LOADER = StrictLoader


def read_mapping(path: Path | str, what: str, required: bool = True) -> dict[str, Any]:
    """The file's top-level mapping; {} for an absent optional file or an empty one."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if required:
            raise InputError(f"{what}: {path} not found") from None
        return {}
    except IsADirectoryError:
        raise InputError(f"{what}: {path} is a folder, not a file") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{what}: {path} is not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise InputError(f"{what}: cannot read {path}: {exc.strerror}") from None
    try:
        data = yaml.load(text, Loader=SAFE_LOADER) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"{what}: {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"{what}: {path} must be a mapping")
    return data
