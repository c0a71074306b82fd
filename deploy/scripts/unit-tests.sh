#!/usr/bin/env bash
# Runs the unit tests of one target (gateway, user, product, order or shared) inside an image, with the
# target's test settings: the throw-away `test-db` server and a JWT key pair made for the run (see
# shared/settings/test.py). shared/ is its own test project (shared/tests/settings.py), run in the
# product image (any service image holds shared/) without the product's code.
# The shard servers there have no replicas: replica routing is unit-tested with fakes in shared/tests
# and tested for real, on the running stack, by the integration tests.
set -o errexit -o pipefail -o nounset
target="$1"
case "$target" in
  shared) service=product; pytest_args=(--ds shared.tests.settings --rootdir /app/shared /app/shared/tests) ;;
  *) service="$target"; pytest_args=(--ds config.settings.test) ;;
esac
# test-db's superuser password as compose gives it to test-db (environment, else .env, else the default)
password=$(docker compose --profile test config --format json test-db | python3 -c \
  'import json, sys; print(json.load(sys.stdin)["services"]["test-db"]["environment"]["POSTGRES_PASSWORD"])')
docker compose --profile test run --rm --no-deps -T -e POSTGRES_PASSWORD="$password" \
  "$service" python -m pytest -q -p no:cacheprovider "${pytest_args[@]}"
