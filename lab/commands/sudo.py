"""sudo's password check on a lab host started with ``--sudo-password`` (lab/layout.py's sudo
stub calls it on the terminal): three tries, ``Sorry, try again.`` between them, as sudo does.
Anything else typed at its prompt that is one of the lab's secrets breaks rule 14."""
from __future__ import annotations

from lab.access import wrong_prompt
from lab.commands import Ctx, command

TRIES = 3


@command("sudo-auth")
async def sudo_auth(ctx: Ctx) -> int:
    prompt = ctx.argv[0] if ctx.argv else "[sudo] password for apigee: "
    for _ in range(TRIES):
        ctx.out(prompt, end="")
        typed = await ctx.readline(echo=False)
        if typed is None:
            ctx.err("sudo: no password was provided")
            return 1
        if typed == ctx.st.secrets["become_password"]:
            return 0
        wrong_prompt(ctx.st, ctx.host.name, typed, "become_password", "sudo's password prompt")
        ctx.err("Sorry, try again.")
    ctx.err(f"sudo: {TRIES} incorrect password attempts")
    return 1
