"""Secrets: from the environment or a private file outside the repository; masked
wherever text leaves the runner (terminal, journal, reports, plan files)."""
from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from fleet.errors import InputError
from fleet.model import HTTP, Plan
from fleet.yamlfile import read_mapping

MASK = "********"
# characters that continue a word, path or name: a short secret next to one of them is part
# of something else (``apigee`` in ``/opt/apigee``), not the secret
WORD = r"A-Za-z0-9_./\-"
LONG_SECRET = 12        # masked even inside a longer word: no accidental match at this length
ENV = {
    "repo_user": "FLEET_REPO_USER",
    "repo_password": "FLEET_REPO_PASSWORD",
    "admin_email": "FLEET_ADMIN_EMAIL",
    "admin_password": "FLEET_ADMIN_PASSWORD",
    "ssh_password": "FLEET_SSH_PASSWORD",
    "ssh_key_passphrase": "FLEET_SSH_KEY_PASSPHRASE",    # for the inventory's key_file
    "become_password": "FLEET_BECOME_PASSWORD",          # typed only at sudo's own prompt
}
PROJECT = Path(__file__).resolve().parents[1]


@dataclass
class Secrets:
    values: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> str:
        return self.values[name]

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def mask(self, text: str) -> str:
        """Every secret value replaced where it stands as a whole value, longest first.

        A short secret, or one that is a common word (a repository user ``apigee``), is
        masked only where it is not part of a longer word or path: ``/opt/apigee`` and
        ``apigee-service`` stay readable, ``user=apigee`` or ``apigee:pw@host`` do not.
        A long secret is masked wherever it appears. Plans never go through here: they
        hold the names of secrets, never values (fleet.plan builds them without any).
        """
        for value in sorted({v for v in self.values.values() if v}, key=len, reverse=True):
            if len(value) >= LONG_SECRET:
                text = text.replace(value, MASK)
            else:
                text = re.sub(rf"(?<![{WORD}]){re.escape(value)}(?![{WORD}])", MASK, text)
                # the user of a URL (yum prints https://USER:PASSWORD@host/...)
                text = re.sub(rf"(?<=://){re.escape(value)}(?=[:@])", MASK, text)
        return text

    def add(self, name: str, value: str) -> None:
        self.values[name] = value


def _check_file(path: Path) -> None:
    try:
        st = path.stat()
    except FileNotFoundError:
        raise InputError(f"secrets: {path} not found") from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InputError(f"secrets: {path} is readable by others (mode "
                         f"{stat.S_IMODE(st.st_mode):o}); run: chmod 600 {path}")
    resolved = path.resolve()
    if resolved.is_relative_to(PROJECT):
        raise InputError(f"secrets: {path} lies inside the runner's repository; keep it "
                         "outside, where it cannot be committed")


def load_secrets(file: Path | str | None) -> Secrets:
    """File first, the environment overrides (so a CI can inject one value)."""
    values: dict[str, str] = {}
    if file:
        path = Path(file).expanduser()
        _check_file(path)
        try:
            data = read_mapping(path, "secrets")
        except InputError:
            # never echo the parser's excerpt of a file full of secrets
            raise InputError(f"secrets: {path} is not a valid YAML mapping") from None
        unknown = set(data) - set(ENV)
        if unknown:
            raise InputError(f"secrets: unknown key(s) {', '.join(sorted(unknown))} in {path}; "
                             f"known: {', '.join(ENV)}")
        values.update({k: str(v) for k, v in data.items() if v is not None})
    for name, var in ENV.items():
        if os.environ.get(var):
            values[name] = os.environ[var]
    return Secrets(values)


def needed(plan: Plan) -> set[str]:
    names: set[str] = set()
    for _, _, step in plan.iter_steps():
        for s in (step, *step.on_failure):
            names.update(secret for _, secret in s.inputs)
            names.update(p.secret for p in s.prompts)
            if s.kind == HTTP:
                names.update({"admin_email", "admin_password"})
    return names


def require(secrets: Secrets, names: Iterable[str]) -> None:
    missing = sorted(n for n in names if not secrets.get(n))
    if missing:
        raise InputError("secrets: missing " + ", ".join(f"{n} (env {ENV[n]})" for n in missing)
                         + "; or give them in a secrets file (--secrets FILE, mode 600)")
