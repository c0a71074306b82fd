#!/usr/bin/env bash
# Starts redis-server with an ACL instead of an open door: the role's user (REDIS_USER, with
# REDIS_PASSWORD) may run everything but the admin and dangerous commands (CONFIG, FLUSHALL, KEYS,
# DEBUG, SHUTDOWN ...; INFO is let through for the clients that ask it); the `default` user, which a
# client without credentials is, may only PING (the health checks). One instance per role: redis-cache
# (user app) and redis-broker (user celery), each with its own password. The well-known default
# passwords are refused unless ALLOW_INSECURE_DEFAULTS=1.
set -o errexit -o pipefail -o nounset
# the password may come from the file REDIS_PASSWORD_FILE names (Docker Swarm secrets)
. /usr/local/lib/secret-env.sh
secret_env REDIS_PASSWORD
: "${REDIS_USER:?}" "${REDIS_PASSWORD:?}" "${ALLOW_INSECURE_DEFAULTS:=0}"
case "$REDIS_PASSWORD" in
  redis-cache | redis-broker)
    if [ "$ALLOW_INSECURE_DEFAULTS" != 1 ]; then
      echo "refusing to start with a well-known Redis password: run \`make env\`," \
        "or set ALLOW_INSECURE_DEFAULTS=1 on a development machine." >&2
      exit 1
    fi ;;
esac
case "$REDIS_PASSWORD" in *[[:space:]]*) echo "REDIS_PASSWORD must not contain white space" >&2; exit 1 ;; esac
acl=/tmp/users.acl
umask 077
{
  echo "user default on nopass -@all +ping"
  echo "user $REDIS_USER on >$REDIS_PASSWORD ~* &* +@all -@admin -@dangerous +info"
} >"$acl"
# protected mode would refuse every remote client while `default` has no password; the ACL above is
# what protects this server (`default` may only PING)
exec "$@" --aclfile "$acl" --protected-mode no
