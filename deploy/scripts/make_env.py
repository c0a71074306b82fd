#!/usr/bin/env python3
"""Writes `.env` (`make env`, run by `make up`): copies .env.example when .env is missing, then gives every
secret that is empty a random value. A value already there is kept, except a well-known default (the
ones the code and compose fall back on, see shared/settings/secrets.py): that is not a secret and is
replaced too, unless ALLOW_INSECURE_DEFAULTS=1 (in .env or the environment) asks to keep it.

    python3 deploy/scripts/make_env.py [--env-file .env] [--example .env.example]

A new admin password is printed once; it stays in .env (git-ignored, mode 0600). Python's standard
library only: it runs on the host before anything is installed.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# secret -> (well-known default, bytes of randomness); the values are URL-safe base64 ([A-Za-z0-9_-]),
# so they need no quoting in .env, in PgBouncer's userlist or in a libpq connection string
SECRETS: dict[str, tuple[str, int]] = {
    "DJANGO_SECRET_KEY": ("dev-only-not-secret-change-me", 48),
    "DB_PASSWORD": ("app", 24),
    "POSTGRES_PASSWORD": ("postgres", 24),
    "REPLICATION_PASSWORD": ("replicator", 24),
    "PGBOUNCER_ADMIN_PASSWORD": ("pgbouncer-admin", 24),
    "EDGE_PURGE_TOKEN": ("edge-purge-dev", 24),
    "REDIS_CACHE_PASSWORD": ("redis-cache", 24),
    "REDIS_BROKER_PASSWORD": ("redis-broker", 24),
    "ADMIN_PASSWORD": ("admin-Passw0rd!", 18),
    # the one password of the million users of `make seed SIZE=large` (the benchmark logs in as them)
    "SEED_USER_PASSWORD": ("seed-users-Passw0rd!", 18),
}
FLAG = "ALLOW_INSECURE_DEFAULTS"
_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")


def read_values(lines: list[str]) -> dict[str, str]:
    """NAME=value pairs of a .env file (the last one wins, as in compose); quotes around a value dropped."""
    values = {}
    for line in lines:
        match = _LINE.match(line)
        if match and not line.lstrip().startswith("#"):
            value = match.group(2)
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            values[match.group(1)] = value
    return values


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def fill(lines: list[str], *, allow_insecure: bool) -> tuple[list[str], dict[str, str]]:
    """The lines with every missing (or well-known, unless `allow_insecure`) secret given a random value.

    Returns the new lines and {name: new value} of what was written.
    """
    values = read_values(lines)
    made: dict[str, str] = {}
    for name, (default, size) in SECRETS.items():
        current = values.get(name, "")
        if current and (current != default or allow_insecure):
            continue
        made[name] = secrets.token_urlsafe(size)
    out = list(lines)
    for name, value in made.items():
        for index, line in enumerate(out):
            match = _LINE.match(line)
            if match and match.group(1) == name and not line.lstrip().startswith("#"):
                out[index] = f"{name}={value}"
        if not any((m := _LINE.match(line)) and m.group(1) == name for line in out):
            out.append(f"{name}={value}")
    return out, made


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env-file", type=Path, default=ROOT / ".env")
    parser.add_argument("--example", type=Path, default=ROOT / ".env.example")
    args = parser.parse_args(argv)

    if not args.env_file.exists():
        print(f"--> writing {args.env_file.name} from {args.example.name}")
        shutil.copyfile(args.example, args.env_file)
    os.chmod(args.env_file, 0o600)
    lines = args.env_file.read_text().splitlines()
    allow = _truthy(os.environ.get(FLAG)) or _truthy(read_values(lines).get(FLAG))
    lines, made = fill(lines, allow_insecure=allow)
    if not made:
        return 0
    args.env_file.write_text("\n".join(lines) + "\n")
    print(f"--> {args.env_file.name}: random values for {', '.join(made)} (kept there; never committed)")
    if "ADMIN_PASSWORD" in made:
        email = read_values(lines).get("ADMIN_EMAIL", "admin@example.com")
        print(f"    the admin account {email} has the password {made['ADMIN_PASSWORD']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
