# Sourced by the shell entrypoints (PostgreSQL, PgBouncer, Redis, nginx): `secret_env NAME...` sets each NAME that is
# unset from the file its NAME_FILE variable names (Docker Swarm secrets are files under /run/secrets/;
# deploy/swarm/render.py sets DB_PASSWORD_FILE=/run/secrets/db_password, ...). Django processes do the
# same in shared/settings/environ.py.
secret_env() {
  local name file
  for name in "$@"; do
    file="${name}_FILE"
    if [ -z "${!name:-}" ] && [ -n "${!file:-}" ]; then
      printf -v "$name" '%s' "$(cat "${!file}")"
      export "${name?}"
    fi
  done
}
