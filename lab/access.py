"""How the lab's hosts are reached, the ways real companies allow: a sudo that asks for a
password, key-only login (an encrypted key, its passphrase a secret), a bastion host through
which alone the others are reached, and a custom prompt (time stamps, colours).

And three judgements about access and long commands (rules 14-16):
14 a secret typed at a prompt it does not belong to (the repository password at sudo's
   prompt, the become password at the bootstrap's);
15 a long command (update.sh, setup.sh, a bootstrap, db_upgrade, setup-replication) whose
   process died before it ended: a hang-up or a signal cut it mid-way;
16 the same long command running twice at once on a node.
"""
from __future__ import annotations

import asyncio
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncssh

from lab.state import LabState

if TYPE_CHECKING:
    from lab.server import LabServer

LONG_SERVICE_VERBS = ("db_upgrade", "setup-replication-on-standby")
CLIENT_KEY = "id_ed25519"


@dataclass(frozen=True)
class Access:
    sudo_password: bool = False
    ssh_keys: bool = False
    bastion: bool = False
    prompt: str | None = None

    def args(self) -> list[str]:
        """The same options for ``python -m lab _serve``."""
        out = ["--sudo-password"] if self.sudo_password else []
        out += ["--ssh-keys"] if self.ssh_keys else []
        out += ["--bastion"] if self.bastion else []
        out += ["--prompt", self.prompt] if self.prompt is not None else []
        return out


# --- judgements -----------------------------------------------------------------------
def long_command(cmd: str, argv: list[str]) -> bool:
    if cmd in ("update.sh", "setup.sh") or cmd.startswith("bootstrap"):
        return True
    return cmd == "apigee-service" and len(argv) > 1 and argv[1] in LONG_SERVICE_VERBS


def wrong_prompt(st: LabState, host: str, typed: str | None, owner: str, where: str) -> None:
    """Rule 14: ``typed`` at the prompt of ``owner`` (a secret name) is another secret."""
    if not typed:
        return
    for name, value in st.secrets.items():
        if name != owner and value and typed == value:
            st.violate(14, host, f"{name} typed at {where}")


def started(st: LabState, running: dict[tuple[str, str], int], host: str, line: str) -> None:
    """Rule 16: a long command already running on the node is started again."""
    key = (host, line)
    if running.get(key):
        st.violate(16, host, f"`{line}` started while the same command was still running")
    running[key] = running.get(key, 0) + 1


def ended(running: dict[tuple[str, str], int], host: str, line: str) -> None:
    running[(host, line)] = max(running.get((host, line), 1) - 1, 0)


def killed(st: LabState, host: str, line: str) -> None:
    """Rule 15: the command's process went away before it ended."""
    st.violate(15, host, f"`{line}` killed mid-way (hang-up or signal), the node left half done")


# --- keys and the bastion -----------------------------------------------------------------
def client_key(directory: Path, passphrase: str) -> tuple[Path, asyncssh.SSHKey]:
    """The operator's key pair (private key encrypted with ``passphrase``)."""
    path = directory / "keys" / CLIENT_KEY
    if path.exists():
        return path, asyncssh.read_private_key(str(path), passphrase)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = asyncssh.generate_private_key("ssh-ed25519")
    with warnings.catch_warnings():            # bcrypt warns below 50 rounds; ssh-keygen uses 16
        warnings.simplefilter("ignore", UserWarning)
        key.write_private_key(str(path), passphrase=passphrase, rounds=16)
    path.chmod(0o600)
    key.write_public_key(str(path) + ".pub")
    return path, key


def bastion_address(prefix: str) -> str:
    return prefix + "5"


class LabLogin(asyncssh.SSHServer):
    """The lab user's login, shared by the nodes and the bastion: a password, or with
    ``--ssh-keys`` the operator's key only. ``admit`` says whether this connection may
    log in at all."""

    lab: "LabServer"

    def begin_auth(self, username: str) -> bool:
        return True

    def admit(self) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return not self.lab.access.ssh_keys

    def validate_password(self, username: str, password: str) -> bool:
        return (self.admit() and username == "apigee"
                and password == self.lab.state.secrets["ssh_password"])

    def public_key_auth_supported(self) -> bool:
        return self.lab.access.ssh_keys

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        return (self.admit() and username == "apigee"
                and key.public_data == self.lab.client_public.public_data)


class BastionSSH(LabLogin):
    """The jump host: same login as the nodes; forwards only to the lab's own hosts, from
    its own address (so the nodes can tell that a connection came through it)."""

    def __init__(self, lab: "LabServer") -> None:
        self.lab = lab

    def connection_requested(self, dest_host: str, dest_port: int, orig_host: str,
                             orig_port: int) -> Any:
        addresses = {h.address for h in self.lab.state.hosts.values()}
        if dest_host not in addresses or dest_port != self.lab.port:
            return False
        source = bastion_address(self.lab.prefix)

        async def relay(reader: asyncssh.SSHReader, writer: asyncssh.SSHWriter) -> None:
            try:
                r2, w2 = await asyncio.open_connection(dest_host, dest_port, local_addr=(source, 0))
            except OSError:
                writer.close()
                return

            async def pipe(src: Any, dst: Any) -> None:
                try:
                    while data := await src.read(65536):
                        dst.write(data)
                except (OSError, asyncssh.Error):
                    pass
                try:
                    dst.write_eof()
                except (OSError, asyncssh.Error):
                    pass

            await asyncio.gather(pipe(reader, w2), pipe(r2, writer))
            w2.close()
            writer.close()

        return relay


async def start_bastion(lab: "LabServer", key: asyncssh.SSHKey) -> Any:
    return await asyncssh.create_server(
        lambda: BastionSSH(lab), bastion_address(lab.prefix), lab.port, server_host_keys=[key],
        reuse_address=True, compression_algs=None, encoding=None)
