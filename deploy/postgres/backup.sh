#!/usr/bin/env bash
# pgBackRest backups of this shard server, taken by whichever member leads (a standby says so and
# does nothing: after a failover the new leader's are the backups, into the same stanza).
#
#   backup.sh now        a full backup now (`make backup`)
#   backup.sh schedule   the entrypoint's loop: the stanza made and a full backup at first start, then a
#                        full backup every BACKUP_INTERVAL_SECONDS (default a day)
#
# After each backup (and at start) the end of the newest one, as pgBackRest's `info` has it, is written
# into the server's own database (`pgbackrest.last_backup`): replicated to the standby and kept across
# failovers, it is what postgres-exporter turns into `pg_backup_age_seconds` (alert BackupTooOld).
#
# The loop runs beside the postmaster, which reaps it (it is its child once the entrypoint has exec'd):
# it must never end with a status other than 0, which the postmaster would take for a crashed backend.
set -o nounset -o pipefail
: "${PGBACKREST_STANZA:?}" "${POSTGRES_DB:?}" "${APP_USER:=app}" "${BACKUP_INTERVAL_SECONDS:=86400}"

as_pg() { runuser -u postgres -- "$@"; }
say() { echo "backup $PGBACKREST_STANZA: $*"; }
leads() { [ "$(as_pg psql -qAtX -d postgres -c 'SELECT NOT pg_is_in_recovery()' 2>/dev/null)" = t ]; }
has_backup() { as_pg pgbackrest info --output=json 2>/dev/null | grep -q '"label"'; }

# the newest backup's end into pgbackrest.last_backup (made here when missing; the application role,
# postgres-exporter's, may read it); a failure is reported and changes nothing else
record() {
  local stop
  stop=$(as_pg pgbackrest info --output=json | python3 -c \
    'import json, sys; b = json.load(sys.stdin)[0]["backup"]; print(b[-1]["timestamp"]["stop"] if b else "")') &&
    [ -n "$stop" ] &&
    as_pg psql -qAtX -v ON_ERROR_STOP=1 -d "$POSTGRES_DB" -v stanza="$PGBACKREST_STANZA" -v stop="$stop" \
      -v app_user="$APP_USER" <<'SQL' && return 0
CREATE SCHEMA IF NOT EXISTS pgbackrest;
CREATE TABLE IF NOT EXISTS pgbackrest.last_backup (stanza text PRIMARY KEY, finished_at timestamptz NOT NULL);
GRANT USAGE ON SCHEMA pgbackrest TO :"app_user";
GRANT SELECT ON pgbackrest.last_backup TO :"app_user";
INSERT INTO pgbackrest.last_backup VALUES (:'stanza', to_timestamp(:'stop'::bigint))
  ON CONFLICT (stanza) DO UPDATE SET finished_at = excluded.finished_at;
SQL
  say "could not record the newest backup's time (BackupTooOld reads it)"
}

full_backup() {
  local started=$SECONDS
  # made once, and then a no-op ("already exists") at every later backup
  as_pg pgbackrest stanza-create >/dev/null || return 1
  as_pg pgbackrest --type=full backup || return 1
  say "full backup done in $((SECONDS - started)) s"
  record
}

now() {
  if ! leads; then
    say "this member is a standby (or down): its leader takes the backups"
    return 0
  fi
  full_backup
}

schedule() {
  trap 'exit 0' TERM INT
  # at first start, as soon as this member leads: it may be starting (asked every 10 s for 5 minutes),
  # or a standby for as long as its leader lives (asked every 5 minutes: each question forks a backend)
  local asked=0
  until leads && { has_backup || full_backup; }; do
    asked=$((asked + 1))
    sleep $((asked < 30 ? 10 : 300))
  done
  record  # a volume whose backups were taken before the record existed, or a restart
  while true; do
    sleep "$BACKUP_INTERVAL_SECONDS"
    leads && full_backup
  done
}

case "${1:-}" in
  now) now ;;
  schedule) schedule </dev/null || true; exit 0 ;;
  *) echo "usage: backup.sh now|schedule" >&2; exit 2 ;;
esac
