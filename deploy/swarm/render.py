#!/usr/bin/env python3
"""Renders the Docker Swarm stack from the compose definitions: no second hand-kept copy of the platform.

    docker compose config --format json | python3 deploy/swarm/render.py --secrets-dir .swarm/secrets > stack.json

Input is compose's own resolved model (`include:`, `extends:`, `.env` and `${VAR:-default}` applied;
a literal `$` stays `$$`, as the stack file wants it too); output is a stack file for
`docker stack deploy` (JSON, which is YAML). Python's standard library only.
What is taken from compose as it is: every long-running service, its image, command, environment
(minus the secrets), health check, named volumes and stop grace period. What Swarm needs and compose
does not say is decided here, by the kind of service (`kind_of`):

- `deploy`: replicas, CPU/memory limits and reservations (`RESOURCES`; reservations are small so that
  ~30 tasks fit on 2 cores), `update_config` (start-first for everything stateless, with automatic
  rollback; stop-first for what owns a volume: two PostgreSQL servers must never share a data
  directory), `rollback_config`, `restart_policy`, `endpoint_mode: dnsrr` (Docker's DNS answers with
  every task's address, as under compose: the gateway's per-replica pools, nginx's upstream watcher
  and Prometheus' DNS discovery work unchanged);
- stateful services (shard server members, etcd, Redis, Prometheus) are pinned with a node label per
  service (`node.labels.scaling-django.pin.<service>==true`): a named volume lives on one node, so its
  task must never move to another one (`make swarm-up` labels this node for all of them);
- secrets: the variables in `SECRET_ENV` become Swarm secrets, mounted under /run/secrets/ and named by
  `NAME_FILE` variables (read by shared/settings/environ.py and deploy/images/secret-env.sh); their
  names carry a hash of the value, because a Swarm secret cannot change. The JWT key pair, a one-shot
  (`jwt-keys`) and two volumes in compose, is two secrets mounted where the volumes were. A shard
  server member's entrypoint exports its passwords from the files before it hands over to Patroni
  (deploy/postgres/patroni.sh), whose configuration, bootstrap and callbacks read the variables;
- one-shots (`<svc>-migrate`) are `replicated-job`s; Swarm has no `depends_on`, so every process waits
  for what it needs by itself (deploy/images/django/start.sh, manage.py wait_for_data_tier). The shard
  servers' Patroni does so too: a member waits for etcd ("waiting on etcd"); both members of a server
  race for its initialize key, the loser clones the winner (either may lead first: `-replica` names a
  member, not a role); each service's HAProxy starts without its members (init-addr none) and routes
  to them once Patroni's REST API answers its checks;
- web health checks are `/health/live/`: a Swarm health check replaces a task that fails it, and a
  database or cache outage must not restart every replica (`/health/` stays the readiness check of
  compose and Kubernetes);
- only keys of stack files (compose file format 3.9, `docker stack deploy`'s schema) are written:
  `dns_opt` is not one (the format has `dns` and `dns_search` only, and refuses any other key), so a
  service's resolver options go into its environment as RES_OPTIONS, which glibc's resolver reads over
  resolv.conf: the shard servers' one 1 s try per lookup (a member cut off from etcd demotes itself
  in time) holds under Swarm too;
- networks: compose's tiers (edge, app, data, broker, purge), each an attachable overlay;
- no published port: the routing mesh cannot bind 127.0.0.1, so nothing is published; clients on this
  machine reach nginx from a container attached to the edge network
  (`docker run --network <stack>_edge ...`, tests/test_swarm.py).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from shared.auth.keys import PRIVATE_NAME, PUBLIC_NAME  # noqa: E402 - stdlib-only module of this repo

# environment variable -> Swarm secret holding its value (APP_PASSWORD is DB_PASSWORD under another name)
SECRET_ENV = {
    "DJANGO_SECRET_KEY": "django_secret_key",
    "DB_PASSWORD": "db_password",
    "APP_PASSWORD": "db_password",
    "ADMIN_PASSWORD": "admin_password",
    "POSTGRES_PASSWORD": "postgres_password",
    "REPLICATION_PASSWORD": "replication_password",
    "PGBOUNCER_ADMIN_PASSWORD": "pgbouncer_admin_password",
    "REDIS_CACHE_PASSWORD": "redis_cache_password",
    "REDIS_BROKER_PASSWORD": "redis_broker_password",
    "EDGE_PURGE_TOKEN": "edge_purge_token",
    "NGINX_PURGE_TOKEN": "edge_purge_token",  # nginx's name for the product worker's token
}
# a variable that holds a different secret in different services: each Redis's own password
SECRET_ENV_OF = {
    ("redis-cache", "REDIS_PASSWORD"): "redis_cache_password",
    ("redis-broker", "REDIS_PASSWORD"): "redis_broker_password",
}
# compose volumes that hold the JWT key pair -> the secret (a file `make swarm-up` makes) mounted instead
KEY_VOLUMES = {"jwt-private": ("jwt_private", PRIVATE_NAME), "jwt-public": ("jwt_public", PUBLIC_NAME)}
# compose services with no Swarm service, and why
DROPPED = {
    "jwt-keys": "the key pair is two Swarm secrets made before deploying (KEY_VOLUMES)",
    "autoscaler": "it scales compose containers through the Docker socket; Swarm scales services "
    "(`docker service scale`), which this autoscaler does not drive",
    "queue-exporter": "only the compose autoscaler reads it",
    "haproxy": "compose's other edge (profile haproxy); Swarm's routing mesh publishes nginx",
    "pg-restore": "`make restore`'s scratch server (profile restore), run on one machine with compose",
    "monolith": "compose's other mode (profile monolith, `make up MODE=monolith`); the stack runs the services",
    "monolith-worker": "the monolith's worker (profile monolith); the stack runs the services' workers",
    "postgres-exporter": "not yet on Swarm (its password would need a Swarm secret and a *_FILE reader)",
    "alertmanager": "not yet on Swarm, as its exporters are not",
    "pgbouncer-exporter": "not yet on Swarm (its password would need a Swarm secret, as postgres-exporter's)",
    "redis-cache-exporter": "not yet on Swarm (its password would need a Swarm secret, as postgres-exporter's)",
    "nginx-exporter": "not yet on Swarm, as the other exporters are not",
}
SECRETS_DIR = "/run/secrets"
PIN_LABEL = "scaling-django.pin"
LIVE_CHECK = "curl -fsS -o /dev/null http://127.0.0.1:8000/health/live/"

# per kind: limits and reservations; 2 cores and ~30 tasks: reservations only keep the scheduler honest
RESOURCES = {
    "web": (("1.0", "512M"), ("0.05", "160M")),
    "worker": (("1.0", "384M"), ("0.05", "128M")),
    "job": (("1.0", "384M"), ("0.05", "96M")),
    "edge": (("0.5", "128M"), ("0.02", "32M")),
    "pgbouncer": (("0.5", "64M"), ("0.02", "16M")),
    "shard-server": (("1.0", "512M"), ("0.05", "96M")),
    "etcd": (("0.5", "256M"), ("0.02", "32M")),
    "db-haproxy": (("0.5", "128M"), ("0.02", "16M")),
    "redis": (("0.5", "320M"), ("0.02", "32M")),
    "prometheus": (("0.5", "512M"), ("0.02", "64M")),
}
STATEFUL = {"shard-server", "etcd", "redis", "prometheus"}  # pinned to their node, stop-first
DJANGO = {"web", "worker", "job"}  # processes that run as the image's user `app` (uid 1000)
# the user a kind's process runs as, who must read its secret files: Django's `app`, and Redis's `redis`
# (uid 100, made by Debian's redis-server package; the others start as root and read them before
# dropping privileges)
OWNER = {**{kind: "1000" for kind in DJANGO}, "redis": "100"}


def secret_for(service: str, variable: str) -> str | None:
    """The Swarm secret that holds `variable` of compose service `service`, or None if it is no secret."""
    return SECRET_ENV_OF.get((service, variable)) or SECRET_ENV.get(variable)


def kind_of(service: dict) -> str:
    """web, worker, job, edge, pgbouncer, shard-server, etcd, db-haproxy, redis or prometheus."""
    image = service["image"].rsplit("/", 1)[-1].split(":")[0]
    by_image = {"nginx": "edge", "pgbouncer": "pgbouncer", "postgres": "shard-server"}
    if image in by_image:
        return by_image[image]
    if image in ("etcd", "db-haproxy", "redis", "prometheus"):
        return image
    if "restart" not in service:  # a one-shot (the start script's `migrate`)
        return "job"
    return "worker" if (service.get("command") or ["web"])[0] == "worker" else "web"


def secret_name(secret: str, value: bytes) -> str:
    """The Swarm name of a secret: a new value is a new secret (Swarm secrets cannot be updated)."""
    return f"{secret}_{hashlib.sha256(value).hexdigest()[:12]}"


def _deploy(name: str, kind: str) -> dict:
    (cpu_limit, mem_limit), (cpu_reserved, mem_reserved) = RESOURCES[kind]
    deploy: dict = {
        "endpoint_mode": "dnsrr",
        "resources": {
            "limits": {"cpus": cpu_limit, "memory": mem_limit},
            "reservations": {"cpus": cpu_reserved, "memory": mem_reserved},
        },
        "labels": {"scaling-django.kind": kind},
    }
    if kind == "job":
        deploy["mode"] = "replicated-job"
        # a job that fails (the data tier did not answer in time) runs again, a bounded number of times
        deploy["restart_policy"] = {"condition": "on-failure", "delay": "5s", "max_attempts": 10}
        return deploy
    # what owns a volume stops before its successor starts; everything else overlaps (no gap in service)
    order = "stop-first" if kind in STATEFUL else "start-first"
    deploy.update(
        mode="replicated",
        replicas=1,
        restart_policy={"condition": "any", "delay": "5s", "window": "60s"},
        update_config={
            "parallelism": 1,
            "delay": "5s",
            "order": order,
            "failure_action": "rollback",
            "monitor": "30s",
            "max_failure_ratio": 0,
        },
        rollback_config={"parallelism": 1, "order": order, "failure_action": "pause", "monitor": "30s"},
    )
    if kind in STATEFUL:
        deploy["placement"] = {"constraints": [f"node.labels.{PIN_LABEL}.{name}==true"]}
    return deploy


def _healthcheck(kind: str, check: dict | None, secrets: dict[str, str]) -> dict | None:
    if not check:
        return None
    check = copy.deepcopy(check)
    if kind == "web":
        check["test"] = ["CMD-SHELL", LIVE_CHECK]
    elif check["test"][0] == "CMD-SHELL":
        # a check that uses a secret's variable reads its file: the variable is not in the environment
        command = check["test"][1]
        for variable, secret in secrets.items():
            command = re.sub(rf"\$\$\{{?{variable}\b\}}?", f"$$(cat {SECRETS_DIR}/{secret})", command)
        check["test"] = ["CMD-SHELL", command]
    return check


def _service(name: str, service: dict, secret_values: dict[str, bytes]) -> tuple[dict, dict[str, bytes]]:
    """The Swarm service of one compose service, and the secrets it uses (name -> value)."""
    kind = kind_of(service)
    environment, used = {}, {}
    for variable, value in (service.get("environment") or {}).items():
        secret = secret_for(name, variable)
        if secret:
            used[secret] = _unescape(value or "").encode()
            environment[f"{variable}_FILE"] = f"{SECRETS_DIR}/{secret}"
        else:
            environment[variable] = value
    if service.get("dns_opt"):  # no stack file key: glibc's resolver takes the options from the environment
        environment.setdefault("RES_OPTIONS", " ".join(service["dns_opt"]))
    secret_mounts, volumes = [], []
    for volume in service.get("volumes") or []:
        if volume.get("type") == "volume" and volume.get("source") in KEY_VOLUMES:
            secret, filename = KEY_VOLUMES[volume["source"]]
            used[secret] = secret_values.get(secret, b"")
            # at an absolute target Docker 20.10 mounts a secret as root, 0444, whatever uid/mode say:
            # say so (the private key goes to the user web service only, as in compose)
            secret_mounts.append({"source": secret, "target": f"{volume['target']}/{filename}", "mode": 0o444})
        else:
            volumes.append({key: volume[key] for key in ("type", "source", "target", "read_only") if key in volume})
    if service.get("shm_size"):  # Swarm has no shm_size: a tmpfs of the same size on /dev/shm
        size = service["shm_size"]
        volumes.append({"type": "tmpfs", "target": "/dev/shm", "tmpfs": {"size": _bytes(size)}})
    secret_mounts += [
        {"source": secret, "target": secret, "mode": 0o400, **({"uid": OWNER[kind]} if kind in OWNER else {})}
        for secret in sorted(set(used) - {s for s, _ in KEY_VOLUMES.values()})
    ]
    rendered = {
        "image": service["image"],
        "environment": environment,
        "networks": sorted(service.get("networks") or {"default": None}),  # compose's tiers
        "deploy": _deploy(name, kind),
    }
    for key in ("command", "entrypoint", "stop_grace_period"):
        if service.get(key) is not None:
            rendered[key] = service[key]
    variables = {*SECRET_ENV, *(variable for _, variable in SECRET_ENV_OF)}
    secret_of = {variable: secret_for(name, variable) for variable in variables}
    healthcheck = _healthcheck(kind, service.get("healthcheck"), {v: s for v, s in secret_of.items() if s in used})
    if healthcheck:
        rendered["healthcheck"] = healthcheck
    if volumes:
        rendered["volumes"] = volumes
    if secret_mounts:
        rendered["secrets"] = secret_mounts
    return rendered, used


def _bytes(size) -> int:
    if isinstance(size, int):
        return size
    number, unit = re.fullmatch(r"(\d+)\s*([kmg]?)b?", str(size).lower()).groups()
    return int(number) * 1024 ** " kmg".index(unit or " ")


def _unescape(value: str) -> str:
    """A value as the process sees it: compose's model keeps `$` escaped as `$$` (so does the stack file)."""
    return value.replace("$$", "$")


def render(model: dict, key_files: dict[str, bytes] | None = None) -> tuple[dict, dict[str, bytes]]:
    """The stack (a dict to dump as JSON) for compose's resolved `model`, and every secret's value by name.

    `key_files` holds the JWT key pair's PEM files by secret name (jwt_private, jwt_public)."""
    services, secrets = {}, {}
    for name, service in sorted(model["services"].items()):
        if name in DROPPED or "test" in (service.get("profiles") or []):
            continue
        services[name], used = _service(name, service, key_files or {})
        for secret, value in used.items():
            if secrets.setdefault(secret, value) != value:
                raise ValueError(f"secret {secret} has two values (e.g. DB_PASSWORD and APP_PASSWORD differ)")
    used_volumes = {v["source"] for s in services.values() for v in s.get("volumes", []) if v["type"] == "volume"}
    used_networks = {network for s in services.values() for network in s["networks"]}
    stack = {
        "version": "3.9",
        "services": services,
        # compose's tiers as overlays; attachable, so a container on this machine can join the edge's
        "networks": {name: {"driver": "overlay", "attachable": True} for name in sorted(used_networks)},
        "volumes": {name: {} for name in sorted(used_volumes)},
        "secrets": {
            secret: {"name": secret_name(secret, value), "file": f"secrets/{secret}"}
            for secret, value in sorted(secrets.items())
        },
    }
    return stack, secrets


def pinned(stack: dict) -> list[str]:
    """The node labels the stack's placement constraints ask for (`make swarm-up` sets them on this node)."""
    found = []
    for service in stack["services"].values():
        for constraint in service["deploy"].get("placement", {}).get("constraints", []):
            found.append(constraint.removeprefix("node.labels.").split("==")[0])
    return sorted(found)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path, help="directory: stack.json and secrets/ go there")
    parser.add_argument("--keys", required=True, type=Path, help="directory holding the JWT key pair's PEM files")
    options = parser.parse_args()
    key_files = {
        "jwt_private": (options.keys / PRIVATE_NAME).read_bytes(),
        "jwt_public": (options.keys / PUBLIC_NAME).read_bytes(),
    }
    stack, secrets = render(json.load(sys.stdin), key_files)
    # secret files beside the stack file (stack paths are relative to it), readable by root only
    secrets_dir = options.out / "secrets"
    secrets_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    for secret, value in secrets.items():
        path = secrets_dir / secret
        path.touch(mode=0o600)
        path.write_bytes(value)
    (options.out / "stack.json").write_text(json.dumps(stack, indent=2) + "\n")
    (options.out / "pin-labels").write_text("".join(f"{label}\n" for label in pinned(stack)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
