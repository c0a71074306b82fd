"""Wait until every shard server's standbys stream and have replayed all of their primary's WAL.

Run after a bulk load (`make seed SIZE=large`): it asks each primary (`<svc>-db-N`) for its
`pg_stat_replication` rows, prints each standby's state and replay lag in bytes, and exits 0 once
every primary has at least one standby in state `streaming` that has replayed all but the last
--slack bytes of the primary's WAL (a live primary keeps writing a little: the outbox relay, the
beat), or 1 after --timeout seconds.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time

SQL = (
    "SELECT application_name, state, pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint FROM pg_stat_replication"
)


def primaries() -> list[str]:
    names = subprocess.run(
        ["docker", "compose", "ps", "--services", "--status", "running"], check=True, capture_output=True, text=True
    ).stdout.split()
    return sorted(name for name in names if re.fullmatch(r"[a-z]+-db-\d+", name))


def standbys(server: str) -> list[tuple[str, str, int]]:
    out = subprocess.run(
        ["docker", "compose", "exec", "-T", server, "psql", "-U", "postgres", "-d", "postgres", "-AtF|", "-c", SQL],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rows = []
    for line in out.splitlines():
        name, state, lag = line.split("|")
        rows.append((name, state, int(lag or -1)))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--slack", type=int, default=1 << 20, help="bytes of WAL a standby may still have to replay")
    args = parser.parse_args()
    deadline = time.monotonic() + args.timeout
    while True:
        behind = {}
        for server in primaries():
            rows = standbys(server)
            if not any(state == "streaming" and 0 <= lag <= args.slack for _, state, lag in rows):
                behind[server] = rows
        if not behind:
            print(f"--> every primary has a streaming standby within {args.slack} bytes of its WAL")
            return 0
        if time.monotonic() > deadline:
            print(f"--> standbys still behind after {args.timeout:.0f} s: {behind}", file=sys.stderr)
            return 1
        print(f"    waiting for standbys: {behind}")
        time.sleep(5)


if __name__ == "__main__":
    sys.exit(main())
