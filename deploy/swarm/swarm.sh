#!/usr/bin/env bash
# The platform on Docker Swarm (single node here): `swarm.sh up` deploys the stack rendered from the
# compose definitions (deploy/swarm/render.py) and waits until it has converged, then seeds it;
# `swarm.sh down` removes the stack, its secrets and (with --volumes) its volumes.
# Images are the locally built ${IMAGE_PREFIX}/* (`make images`): no registry, `--resolve-image never`.
# Environment: SWARM_STACK (stack name), SWARM_DIR (generated stack file and secret files, git-ignored),
# SWARM_TIMEOUT (seconds to converge).
set -o errexit -o pipefail -o nounset
: "${IMAGE_PREFIX:=scaling-django}" "${SWARM_STACK:=${IMAGE_PREFIX}-swarm}" "${SWARM_DIR:=.swarm}"
: "${SWARM_TIMEOUT:=600}"
cd "$(dirname "$0")/../.."

if [ "$SWARM_STACK" = scaling-django ]; then
  # compose's project is scaling-django: the stack's volumes would be compose's volumes
  echo "SWARM_STACK must not be the compose project's name (scaling-django)" >&2
  exit 2
fi

# single node: the swarm listens on loopback only (no other machine can join or reach its ports)
swarm_init() {
  if [ "$(docker info --format '{{.Swarm.LocalNodeState}}')" != active ]; then
    echo "--> docker swarm init (single node, 127.0.0.1)"
    docker swarm init --advertise-addr 127.0.0.1 --listen-addr 127.0.0.1:2377 >/dev/null
  fi
}

# the JWT key pair, made once with the user image (shared.auth.keys), kept with the other secret files
jwt_keys() {
  mkdir -p "$SWARM_DIR/keys" && chmod 700 "$SWARM_DIR" "$SWARM_DIR/keys"
  docker run --rm --user "$(id -u):$(id -g)" --entrypoint python -v "$PWD/$SWARM_DIR/keys:/out" \
    "$IMAGE_PREFIX/user" -m shared.auth.keys /out /out
}

render() {
  echo "--> rendering $SWARM_DIR/stack.json from docker compose config (deploy/swarm/render.py)"
  docker compose config --format json | python3 deploy/swarm/render.py --out "$SWARM_DIR" --keys "$SWARM_DIR/keys"
}

# a stateful service's task is pinned to the node that holds its volume: here, this node
label_node() {
  local args=()
  while read -r label; do args+=(--label-add "$label=true"); done <"$SWARM_DIR/pin-labels"
  docker node update "${args[@]}" "$(docker info --format "{{.Swarm.NodeID}}")" >/dev/null
}

# every replicated service has all its tasks running (with a health check: healthy), every job completed
converged() {
  docker service ls --filter "label=com.docker.stack.namespace=$SWARM_STACK" --format '{{.Mode}} {{.Replicas}}' |
    awk 'BEGIN {ok = 1; n = 0}
         {n++}
         $2 == "job" {
           if (!match($0, /\([0-9]+\/[0-9]+ completed\)/)) { ok = 0; next }
           split(substr($0, RSTART + 1, RLENGTH - 2), done, "[/ ]")
           if (done[1] != done[2]) ok = 0
           next
         }
         $2 ~ /^[0-9]+\/[0-9]+$/ { split($2, r, "/"); if (r[1] != r[2] || r[2] == 0) ok = 0; next }
         { ok = 0 }
         END { exit !(ok && n > 0) }'
}

wait_converged() {
  local start=$SECONDS
  until converged; do
    if ((SECONDS - start > SWARM_TIMEOUT)); then
      echo "the stack did not converge within ${SWARM_TIMEOUT} s:" >&2
      docker stack ps "$SWARM_STACK" --no-trunc --filter desired-state=running >&2 || true
      docker service ls --filter "label=com.docker.stack.namespace=$SWARM_STACK" >&2
      return 1
    fi
    sleep 3
  done
  echo "--> converged in $((SECONDS - start)) s"
}

# `make seed` on the stack: the commands run in a running task of user and product
seed() {
  local service container
  for service in user:seed_admin product:seed_catalog; do
    container=$(docker ps -q --filter "label=com.docker.swarm.service.name=${SWARM_STACK}_${service%%:*}" | head -n 1)
    docker exec "$container" python manage.py "${service#*:}"
  done
}

up() {
  swarm_init
  [ -s "$SWARM_DIR/keys/jwt_public.pem" ] || jwt_keys
  render
  label_node
  echo "--> docker stack deploy $SWARM_STACK"
  docker stack deploy --detach=true --prune --resolve-image never -c "$SWARM_DIR/stack.json" "$SWARM_STACK" >/dev/null
  wait_converged
  echo "--> seeding the admin account and the demo catalog"
  seed
  echo "--> ready: nothing is published; reach nginx from a container on the attachable network:"
  echo "    docker run --rm --network ${SWARM_STACK}_edge --entrypoint curl $IMAGE_PREFIX/nginx -s http://nginx/health/"
}

# removes the stack and waits until its tasks and network are gone (a new deploy would race them);
# secrets go with the stack; volumes only with --volumes. A finished job's container stays behind in
# Docker 20.10 (the service is gone, not its exited container): removed here. On a loaded machine the
# tasks of 30-odd services may take minutes to stop: after STOP_GRACE seconds what is left of the stack
# (its services are gone by then) is removed by force, and a container still attached to one of its
# networks (a client started on the attachable network) is disconnected from it.
STOP_GRACE=${SWARM_STOP_GRACE:-90}
down() {
  docker stack rm "$SWARM_STACK" >/dev/null 2>&1 || true
  local start=$SECONDS label="label=com.docker.stack.namespace=$SWARM_STACK" network container
  while docker ps -aq --filter "$label" | grep -q . || docker network ls -q --filter "$label" | grep -q .; do
    # stopped tasks' containers (Swarm removes them itself too, so one may be gone before `docker rm`)
    docker ps -aq --filter "$label" --filter status=exited --filter status=created --filter status=dead |
      xargs -r docker rm >/dev/null 2>&1 || true
    if ((SECONDS - start > STOP_GRACE)); then
      docker ps -aq --filter "$label" | xargs -r docker rm -f >/dev/null 2>&1 || true
      for network in $(docker network ls -q --filter "$label"); do
        for container in $(docker network inspect "$network" --format '{{range $id, $c := .Containers}}{{$id}} {{end}}'); do
          docker network disconnect -f "$network" "$container" >/dev/null 2>&1 || true
        done
        docker network rm "$network" >/dev/null 2>&1 || true
      done
    fi
    if ((SECONDS - start > STOP_GRACE + 120)); then
      echo "the stack's containers or network are still there:" >&2
      docker ps -a --filter "$label" --format '{{.Names}} {{.Status}}' >&2
      docker network ls --filter "$label" >&2
      return 1
    fi
    sleep 2
  done
  if [ "${1:-}" = --volumes ]; then
    docker volume ls -q --filter "$label" | xargs -r docker volume rm >/dev/null
  fi
  echo "--> stack $SWARM_STACK removed in $((SECONDS - start)) s"
}

case "${1:-}" in
  up) up ;;
  down) shift; down "$@" ;;
  wait) wait_converged ;;
  *) echo "usage: $0 up|down [--volumes]|wait" >&2; exit 2 ;;
esac
