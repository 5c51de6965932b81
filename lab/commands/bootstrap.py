"""Fetching and running the bootstrap scripts (internet, mirror and tar repositories)."""
from __future__ import annotations

import re
from pathlib import Path

from lab.access import wrong_prompt
from lab.commands import Ctx, command
from lab.layout import agent_line, install_apigee_stubs, write_exe

VERSIONS = ("4.16.09", "4.18.01")
PASSWORD_PROMPT = "Enter the password for apigeeuser: "


def bootstrap_script(ctx: Ctx, version: str, origin: str) -> str:
    return (f"#!/bin/bash\n# Apigee Edge bootstrap {version} ({origin})\n"
            + agent_line(ctx.lab.sock, ctx.host.name, f"bootstrap-{version}"))


def _parse_curl(argv: list[str]) -> tuple[dict[str, str], list[str]]:
    opts: dict[str, str] = {}
    urls: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-o", "--output", "-K", "--config", "-u", "--user"):
            key = {"--output": "o", "--config": "K", "--user": "u"}.get(a, a[1:])
            opts[key] = argv[i + 1] if i + 1 < len(argv) else ""
            i += 2
            continue
        if a.startswith("-") and not a.startswith("--") and len(a) > 2 and a[-1] in "oKu":
            opts[a[-1]] = argv[i + 1] if i + 1 < len(argv) else ""
            opts.update({c: "" for c in a[1:-1]})
            i += 2
            continue
        if a.startswith("-"):
            opts.update({c: "" for c in a.lstrip("-")} if not a.startswith("--") else {a: ""})
        else:
            urls.append(a)
        i += 1
    return opts, urls


@command("curl")
async def curl(ctx: Ctx) -> int:
    opts, urls = _parse_curl(ctx.argv)
    creds = opts.get("u")
    if "K" in opts:
        text = await ctx.readall() if opts["K"] == "-" else ctx.path(opts["K"]).read_text()
        m = re.search(r'^\s*-?-?user\s*[=:]?\s*"?([^"\n]*)"?\s*$', text, re.M)
        creds = m.group(1) if m else creds
    if not urls:
        ctx.err("curl: no URL specified!")
        return 2
    url = urls[0]
    m = re.match(r"^(https?)://([^/]+)/bootstrap_([0-9.]+)\.sh$", url)
    host = m.group(2) if m else re.sub(r"^\w+://", "", url).split("/")[0]
    if host == "software.apigee.com":
        origin = "internet"
    elif host == ctx.lab.mirror_host:
        origin = "mirror"
        st = ctx.st
        if creds != f"{st.secrets['repo_user']}:{st.secrets['repo_password']}":
            ctx.err("curl: (22) The requested URL returned error: 401 Unauthorized")
            return 22
    else:
        name, _, port = host.partition(":")
        ctx.err(f"curl: (7) Failed to connect to {name} port {port or 80}: Connection refused")
        return 7
    if not m or m.group(3) not in VERSIONS:
        ctx.err("curl: (22) The requested URL returned error: 404 Not Found")
        return 22
    script = bootstrap_script(ctx, m.group(3), origin)
    if "o" in opts:
        target = ctx.path(opts["o"])
        if not target.parent.is_dir():
            ctx.err(f"curl: (23) Failed writing body (0 != {len(script)})")
            return 23
        write_exe(target, script)
    else:
        ctx.out(script, end="")
    return 0


def _kv(argv: list[str]) -> dict[str, str]:
    out = {}
    for a in argv:
        k, sep, v = a.partition("=")
        if sep:
            out[k] = v.strip('"')
    return out


@command("bootstrap-4.16.09", "bootstrap-4.18.01")
async def bootstrap(ctx: Ctx) -> int:
    version = ctx.cmd.split("-", 1)[1]
    h, st = ctx.host, ctx.st
    args = _kv(ctx.argv)
    ctx.out(f"Apigee Edge bootstrap {version}")
    if h.selinux.lower() == "enforcing":
        ctx.err("ERROR: SELinux is enforcing; disable it (setenforce 0) before bootstrapping")
        return 1
    java_fix = args.get("JAVA_FIX", "")
    if java_fix and java_fix not in ("I", "C", "Q"):
        ctx.err(f"ERROR: JAVA_FIX must be I, C or Q (got {java_fix})")
        return 1
    if args.get("apigeeprotocol", "").startswith("file"):
        base = Path(args.get("apigeerepobasepath", ""))
        if not (base / f"bootstrap_{version}.sh").exists() or not (base / "apigee" / "repodata").is_dir():
            ctx.err(f"ERROR: no Apigee repository found at {base}")
            return 1
        ctx.out(f"Using the local repository file://{base}")
    else:
        user = args.get("apigeeuser")
        if not user:
            ctx.err("ERROR: apigeeuser is required (apigeeuser=USER [apigeepassword=PASSWORD])")
            return 1
        password = args.get("apigeepassword")
        if password is None:
            ctx.out(PASSWORD_PROMPT, end="")
            password = await ctx.readline(echo=False)
            wrong_prompt(st, h.name, password, "repo_password", "the bootstrap's password prompt")
        if user != st.secrets["repo_user"] or password != st.secrets["repo_password"]:
            ctx.err("ERROR: Unable to authenticate with the Apigee repository (HTTP 401): "
                    "check apigeeuser and apigeepassword")
            return 1
        repo = args.get("apigeerepohost", "software.apigee.com")
        ctx.out(f"Using the repository {args.get('apigeeprotocol', 'https://')}{repo}")
    ctx.out("Java 1.8 found" if java_fix != "I" else "Installing OpenJDK 1.8")
    await ctx.sleep("bootstrap")
    h.repo_version = version
    if not (h.root / "apigee-service" / "bin" / "apigee-service").exists():
        install_apigee_stubs(h, ctx.lab.sock, setup=False)
    ctx.out(f"Installing apigee-service-{version}-0.0.1 ...")
    ctx.out("Apigee Repository is successfully configured")
    ctx.out("Apigee Service is successfully installed; see apigee-service help")
    return 0
