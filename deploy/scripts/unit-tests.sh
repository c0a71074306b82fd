#!/usr/bin/env bash
# Runs the unit tests of one target (gateway, user, product, order or shared) inside its image,
# against the throw-away `test-db` server, with a JWT key pair made for the run.
# The shard servers there have no replicas: replica routing is unit-tested with fakes in shared/tests
# and tested for real, on the running stack, by the integration tests.
set -o errexit -o pipefail -o nounset
target="$1"
case "$target" in
  gateway) service=gateway; paths="" ;;
  shared) service=product; paths="/app/shared/tests" ;;
  *) service="$target"; paths="" ;;
esac
docker compose --profile test run --rm --no-deps -T \
  -e DB_HOST=test-db -e DB_PORT=5432 -e DB_USER=postgres -e DB_PASSWORD="${POSTGRES_PASSWORD:-postgres}" \
  -e JWT_PRIVATE_KEY_FILE=/tmp/keys/jwt_private.pem -e JWT_PUBLIC_KEY_FILE=/tmp/keys/jwt_public.pem \
  -e CACHE_URL=redis://127.0.0.1:1/0 -e SHARD_TOPOLOGY='{"db0": {}, "db1": {}}' -e DB_CONN_MAX_AGE=0 \
  "$service" bash -c "python -m shared.auth.keys /tmp/keys /tmp/keys >/dev/null && python -m pytest -q -p no:cacheprovider $paths"
