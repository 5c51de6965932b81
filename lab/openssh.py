"""Real OpenSSH hosts for the realism check: one Debian ``sshd`` per lab host.

Why: prompt, echo and exit-status handling must be proven against the server operators
really run. Each sshd runs as root inside ``unshare --mount --uts`` so it gets its own
hostname and private bind mounts: a lab-only ``/etc/passwd``/``/etc/shadow`` (user
``apigee``, uid 0, the lab's SSH password) and empty ``/etc/profile``/``/etc/bash.bashrc``,
so the real machine's users and files are never changed. Everything else (state, commands,
API, judge) is the same lab process; only the transport differs. Without root or
``/usr/sbin/sshd`` it is unavailable, with a reason.
"""
from __future__ import annotations

import asyncio
import os
import shutil
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING

from lab.access import bastion_address
from lab.layout import host_env
from lab.state import HostState

if TYPE_CHECKING:
    from lab.server import LabServer

SSHD = "/usr/sbin/sshd"


def available() -> tuple[bool, str]:
    if not Path(SSHD).exists():
        return False, f"{SSHD} not found (install Debian's openssh-server)"
    if os.geteuid() != 0:
        return False, "the OpenSSH lab needs root (sshd with privilege separation, unshare)"
    if shutil.which("unshare") is None:
        return False, "unshare (util-linux) not found"
    return True, ""


def _hash(password: str) -> str:
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
    return crypt.crypt(password, crypt.mksalt(crypt.METHOD_SHA512))


def _files(lab: "LabServer", h: HostState, port: int) -> tuple[Path, Path]:
    home = lab.directory / "hosts" / h.name
    etc = home / "sshd"
    etc.mkdir(parents=True, exist_ok=True)
    env = host_env(lab.directory, h, lab.access.prompt)
    (etc / "passwd").write_text(f"root:x:0:0:root:/root:/bin/bash\napigee:x:0:0:Apigee:{home}:/bin/bash\n"
                                "sshd:x:105:65534::/run/sshd:/usr/sbin/nologin\n"
                                "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")
    (etc / "shadow").write_text(f"root:*:19000:0:99999:7:::\napigee:{_hash(lab.state.secrets['ssh_password'])}"
                                ":19000:0:99999:7:::\nsshd:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n")
    (etc / "shadow").chmod(0o600)
    (etc / "empty").write_text("")
    profile = "".join(f"export {k}='{v}'\n" for k, v in env.items())
    (home / ".bash_profile").write_text(profile)
    (home / ".bashrc").write_text(profile)
    setenv = " ".join(f'"{k}={v}"' for k, v in env.items() if k not in ("HOME", "USER", "LOGNAME", "SHELL"))
    conf = etc / "sshd_config"
    keys = lab.client_public is not None          # --ssh-keys: the operator's key only
    if keys:
        (etc / "authorized_keys").write_text(lab.client_public.export_public_key().decode())
    who = f"apigee@{bastion_address(lab.prefix)}" if lab.access.bastion else "apigee"
    conf.write_text("\n".join([
        f"ListenAddress {h.address}:{port}", f"HostKey {home / 'ssh_host_ed25519_key'}",
        f"PidFile {etc / 'sshd.pid'}", "UsePAM no", "StrictModes no", "PermitRootLogin yes",
        f"PasswordAuthentication {'no' if keys else 'yes'}", "KbdInteractiveAuthentication no",
        f"PubkeyAuthentication {'yes' if keys else 'no'}",
        f"AuthorizedKeysFile {etc / 'authorized_keys'}",
        f"AllowUsers {who}", "PrintMotd no", "PrintLastLog no", "UseDNS no", "LogLevel ERROR",
        f"SetEnv {setenv}", ""]))
    script = etc / "start.sh"
    script.write_text("\n".join([
        "set -e", "mount --make-rprivate / 2>/dev/null || true",
        f"mount --bind {etc / 'passwd'} /etc/passwd", f"mount --bind {etc / 'shadow'} /etc/shadow",
        f"[ -e /etc/profile ] && mount --bind {etc / 'empty'} /etc/profile",
        f"[ -e /etc/bash.bashrc ] && mount --bind {etc / 'empty'} /etc/bash.bashrc",
        f"hostname {h.name}", "mkdir -p /run/sshd", f"exec {SSHD} -D -e -f {conf}", ""]))
    return conf, script


async def start_host(lab: "LabServer", h: HostState, port: int) -> asyncio.subprocess.Process:
    _, script = _files(lab, h, port)
    proc = await asyncio.create_subprocess_exec(
        "unshare", "--mount", "--uts", "--fork", "sh", str(script),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=open(lab.directory / "lab.log", "a"), start_new_session=True)
    lab.children.add(proc.pid)
    for _ in range(200):                      # until it listens
        try:
            _, w = await asyncio.open_connection(h.address, port)
            w.close()
            return proc
        except OSError:
            if proc.returncode is not None:
                raise RuntimeError(f"sshd for {h.name} exited with {proc.returncode}; see lab.log") from None
            await asyncio.sleep(0.05)
    raise RuntimeError(f"sshd for {h.name} did not start listening")


def _master(root_pid: int) -> int | None:
    try:
        kids = Path(f"/proc/{root_pid}/task/{root_pid}/children").read_text().split()
        return int(kids[0]) if kids else None
    except (OSError, ValueError):
        return None


def namespace_pids(master: int) -> dict[int, int]:
    """Live processes (pid -> parent pid) in the mount namespace of the sshd ``master``."""
    try:
        ns = os.readlink(f"/proc/{master}/ns/mnt")
    except OSError:
        return {}
    out = {}
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                if os.readlink(f"/proc/{p}/ns/mnt") == ns:
                    stat = Path(f"/proc/{p}/stat").read_text().rsplit(") ", 1)[1].split()
                    if stat[0] != "Z":
                        out[int(p)] = int(stat[1])
            except (OSError, IndexError, ValueError):
                pass
    return out


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def stop_all(procs: list[asyncio.subprocess.Process]) -> None:
    """Kill each namespace leaves first, so every parent reaps its children (no zombies)."""
    for proc in procs:
        master = _master(proc.pid)
        if master is None:
            _kill(proc.pid)
            continue
        for _ in range(50):
            live = namespace_pids(master)
            live.pop(master, None)
            if not live:
                break
            parents = set(live.values())
            for pid in live:
                if pid not in parents:
                    _kill(pid)
            time.sleep(0.02)
        _kill(master)
        for _ in range(50):                        # let unshare reap it before anyone kills unshare
            if not Path(f"/proc/{master}").exists():
                break
            time.sleep(0.02)
