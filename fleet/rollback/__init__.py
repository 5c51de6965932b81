"""`python runner.py rollback`: take an installation updated (or half-updated) to 4.18.01
back to 4.16.09 per ../shared/docs/rollback.md, with the update's executor, journal,
reports, lock and leases. Planning is pure (planner.build_rollback); live state is read
before it (state, cli)."""
