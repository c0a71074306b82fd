"""Parity of compose and Kubernetes: the two descriptions of the platform must not drift apart.

The compose files are read here, without Docker: docker-compose.yml's `include:`, `extends:` (from
common.yml) and `${VAR:-default}` interpolation (defaults only, not .env) are resolved the way compose
does. The Kubernetes side is each kustomization rendered with `kubectl kustomize` (deploy/k8s/render.py,
placeholder secrets). They must agree on, per compose service:

- its Kubernetes counterpart of the same name: a Deployment or StatefulSet for a long-running service,
  a Job for a one-shot (`<svc>-migrate`), the Secret `jwt-keys` for the one-shot `jwt-keys`; the
  test-only `test-db` has none, nor have etcd and the db-haproxy services (NOT_IN_K8S: Patroni's store
  and the leader's routing are the cluster's own API and Services there). Kubernetes-only workloads are
  listed in K8S_ONLY_WORKLOADS;
- its image, its command line (compose `command` = the container's `args`), its environment variable
  names and every non-secret value, its container ports (compose `ports` and the image's EXPOSE when it
  runs the image's own program), its health check (HTTP path and port, or the command; interval and
  timeout = the readiness probe's period and timeout) and where its named volumes are mounted
  (a read-write one on a volume claim);
- the shard topology: per database, each member's shard server (PATRONI_SCOPE: both members of a
  server share it), and per PgBouncer (DB_NAME) where each pool of PGBOUNCER_SERVERS leads: to which
  server, to its leader or its standby, among which members (compose and Swarm: the port of the
  service's HAProxy and its DB_SERVERS; Kubernetes: the server's Service without selector, whose
  Endpoints Patroni keeps on the leader, or its Service selecting the member Patroni labels replica).

The negative tests at the end change one side only and check that `differences` reports it.
"""

from __future__ import annotations

import copy
import functools
import importlib.util
import json
import os
import re
import shlex
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.topology  # compose's services against Kubernetes'

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
OVERLAYS = ("base", "dev", "production")

# compose one-shots whose Kubernetes counterpart is not a Job of the same name
ONE_SHOT_AS_SECRET = {"jwt-keys": "jwt-keys"}  # the key pair is a Secret made outside the cluster
# compose services with no Kubernetes workload, and why
COMPOSE_ONLY = {
    "autoscaler": "Kubernetes scales with its HorizontalPodAutoscalers (deploy/k8s), on the same signals",
    "queue-exporter": "in Kubernetes the same exporter is a sidecar container of redis-broker",
    "haproxy": "the other edge of compose (profile haproxy); in Kubernetes the Ingress controller is the edge",
    "pg-restore": "`make restore`'s scratch server (profile restore); in Kubernetes a restore is a pod a person "
    "runs from the same image with PG_ROLE=restore",
    "monolith": "compose's other mode (profile monolith, `make up MODE=monolith`); Kubernetes runs the services",
    "monolith-worker": "the monolith's worker (profile monolith); Kubernetes runs the services' workers",
}
# compose volumes of configuration an operator changes at run time (with `make`): a ConfigMap in Kubernetes,
# changed with `kubectl edit`, not a volume claim
OPERATOR_CONFIG = {
    ("gateway", "/routes"): "the gateway's routes file (gateway/routing.py; `make route`; ConfigMap gateway-routes)",
}
# compose services Kubernetes runs but the Swarm stack leaves out (why: deploy/swarm/render.py DROPPED)
NOT_IN_SWARM = {"postgres-exporter", "alertmanager", "pgbouncer-exporter", "redis-cache-exporter", "nginx-exporter"}
SERVICES = ("user", "product", "order")
# every member of every shard server (compose `shard-server`; a StatefulSet each in Kubernetes)
SHARD_MEMBERS = tuple(f"{svc}-db-{n}{suffix}" for svc in SERVICES for n in (0, 1) for suffix in ("", "-replica"))
# compose services the Swarm stack runs too but Kubernetes does not, and why
NOT_IN_K8S = {
    **dict.fromkeys(
        ("etcd-0", "etcd-1", "etcd-2"),
        "Patroni's store under compose and Swarm; in Kubernetes Patroni keeps each shard server's leader key "
        "and state in the cluster's own API (Endpoints, pod labels), so no etcd runs there",
    ),
    **{
        f"{svc}-db-haproxy": "routes PgBouncer to each shard server's leader and standby under compose and Swarm; "
        "in Kubernetes the server's Service without selector (its Endpoints kept on the leader by Patroni) and "
        "its -standby Service (the member Patroni labels replica) do"
        for svc in SERVICES
    },
}
# Kubernetes workloads with no compose service, and why
K8S_ONLY_WORKLOADS = {
    "seed-admin": "`make seed` runs it with `docker compose exec user`",
    "seed-catalog": "`make seed` runs it with `docker compose exec product`",
    "prometheus-adapter": "serves the HPAs' custom and external metrics; compose has no HPA",
}
# deliberate differences, each with its reason
# a shard server member in Kubernetes: POD_IP, the address Patroni puts in the leader's Endpoints
# (deploy/postgres/patroni.sh, store()), and the connect addresses built from it (a pod's name does not
# resolve; compose's members are reached by their names)
K8S_ONLY_ENV: dict[str, set[str]] = dict.fromkeys(
    SHARD_MEMBERS, {"POD_IP", "PATRONI_RESTAPI_CONNECT_ADDRESS", "PATRONI_POSTGRESQL_CONNECT_ADDRESS"}
)
# compose variables the Kubernetes pods do without: ETCD_HOSTS names Patroni's etcd, which Kubernetes
# has not (without it patroni.sh uses the Kubernetes API as the store)
NOT_IN_K8S_ENV: dict[str, set[str]] = dict.fromkeys(SHARD_MEMBERS, {"ETCD_HOSTS"})
# variables whose value differs on purpose:
# - nginx: in Kubernetes the Ingress controller's pods are the proxy in front of nginx; compose has no
#   proxy in front and trusts none;
# - a shard server member's PATRONI_NAME is its pod's name there (metadata.name: Patroni patches the pod of
#   that name), compose's service name here;
# - PGBOUNCER_SERVERS: the service's HAProxy ports in compose, the servers' Services in Kubernetes (where
#   each pool leads is compared as the shard topology);
# - postgres-exporter's PG_SERVERS: the members by their pods' DNS names in Kubernetes, where the names
#   user-db-0... are the servers' leader Services (the members read are compared in `differences`)
K8S_OWN_VALUE = {
    "nginx": {"NGINX_TRUSTED_PROXIES"},
    **dict.fromkeys(SHARD_MEMBERS, {"PATRONI_NAME"}),
    **{f"{svc}-pgbouncer": {"PGBOUNCER_SERVERS"} for svc in SERVICES},
    "postgres-exporter": {"PG_SERVERS"},
}
# ports compose's containers are reached on without declaring them: nginx's purge (8081) and status
# (8082: stub_status, /edge-metrics) ports, each worker's metrics (9808, shared/celery.py)
K8S_ONLY_PORTS = {"nginx": {8081, 8082}, **{f"{svc}-worker": {9808} for svc in ("user", "product", "order")}}
# compose checks these with what their images have (bash's /dev/tcp for Alertmanager) or not at all (the
# exporters: no HTTP client in the image); the kubelet asks their HTTP endpoint: (port, path) of the
# readiness probe (compose's interval and timeout, where it has a check, still hold)
K8S_HTTP_HEALTH = {
    "alertmanager": (9093, "/-/ready"),
    "pgbouncer-exporter": (9127, "/metrics"),
    "redis-cache-exporter": (9121, "/metrics"),
    "nginx-exporter": (9113, "/metrics"),
    "postgres-exporter": (9187, "/metrics"),
}
SECRET = object()  # an environment value that comes from a Secret: compared by name only
LONG_RUNNING = {"always", "unless-stopped"}


# --- compose, read without Docker -------------------------------------------------------------------
_VARIABLE = re.compile(r"\$(?:(?P<escaped>\$)|\{(?P<braced>[^}]*)\}|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))")
_BRACED = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>.*))?$", re.S)


def interpolate(value, env: dict[str, str] | None = None):
    """Compose's interpolation of every string in `value`: `$$`, `$VAR`, `${VAR}`, `${VAR:-default}`..."""
    env = env or {}
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match) -> str:
        if match.group("escaped"):
            return "$"
        if match.group("plain"):
            return env.get(match.group("plain"), "")
        parts = _BRACED.match(match.group("braced"))
        assert parts, f"bad variable {match.group(0)!r}"
        name, op, arg = parts.group("name"), parts.group("op"), parts.group("arg")
        current = env.get(name)
        if op in (":-", "-"):
            return current if current or (op == "-" and current is not None) else arg
        if op in (":+", "+"):
            return arg if current or (op == "+" and current is not None) else ""
        if op in (":?", "?") and not current:
            raise ValueError(f"{name} must be set: {arg}")
        return current or ""

    return _VARIABLE.sub(substitute, value)


def _environment(value) -> dict[str, str | None]:
    if isinstance(value, list):
        return dict(item.split("=", 1) if "=" in item else (item, None) for item in value)
    return {key: None if item is None else str(item) for key, item in (value or {}).items()}


def _merge(base: dict, override: dict) -> dict:
    """`extends:` merging: mappings merge, `environment` by name, `ports`/`volumes` add, other lists replace."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if key == "environment":
            merged[key] = {**_environment(base.get(key)), **_environment(value)}
        elif key in ("ports", "volumes"):
            merged[key] = [*base.get(key, []), *[item for item in value if item not in base.get(key, [])]]
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            merged[key] = _merge(base[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


@functools.cache
def _compose_file(path: Path) -> dict:
    data = interpolate(yaml.safe_load(path.read_text()))
    for service in (data.get("services") or {}).values():
        build = service.get("build")
        if isinstance(build, dict) and "context" in build:
            build["context"] = str((path.parent / build["context"]).resolve())
        if "environment" in service:
            service["environment"] = _environment(service["environment"])
    return data


def _resolve(path: Path, name: str) -> dict:
    service = copy.deepcopy(_compose_file(path)["services"][name])
    extends = service.pop("extends", None)
    if extends is None:
        return service
    if isinstance(extends, str):
        extends = {"service": extends}
    base_path = (path.parent / extends["file"]).resolve() if "file" in extends else path
    return _merge(_resolve(base_path, extends["service"]), service)


def load_compose(path: Path = COMPOSE_FILE) -> dict[str, dict]:
    """Every compose service of the project, `include:`s and `extends:` resolved."""
    services: dict[str, dict] = {}
    top = _compose_file(path)
    for entry in top.get("include") or []:
        included = (path.parent / (entry if isinstance(entry, str) else entry["path"])).resolve()
        services.update(load_compose(included))
    for name in top.get("services") or {}:
        services[name] = _resolve(path, name)
    return services


def _image(name: str | None) -> str | None:
    if name is None:
        return None
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


def _command(value) -> list[str] | None:
    return shlex.split(value) if isinstance(value, str) else value


def _seconds(value, default: float) -> float:
    if value is None:
        return default
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 1e-6}
    return sum(float(n) * units[unit] for n, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", str(value)))


@functools.cache
def _dockerfile_stages(path: str) -> dict[str, dict]:
    """EXPOSE and CMD of each stage of a Dockerfile (the last stage also as ''), with inheritance."""
    text = re.sub(r"\\\n", " ", Path(path).read_text())
    stages: dict[str, dict] = {}
    current: dict = {}
    for line in text.splitlines():
        words = line.strip().split(None, 1)
        if not words or words[0].startswith("#"):
            continue
        instruction, rest = words[0].upper(), (words[1] if len(words) > 1 else "")
        if instruction == "FROM":
            source, _, alias = re.match(r"(\S+)(?:\s+AS\s+(\S+))?", rest, re.I).group(1, 0, 2)
            parent = stages.get(source, {"expose": set(), "cmd": None})
            current = {"expose": set(parent["expose"]), "cmd": parent["cmd"]}
            stages[alias or f"#{len(stages)}"] = current
            stages[""] = current
        elif instruction == "EXPOSE":
            for port in rest.split():
                first, _, last = port.split("/")[0].partition("-")  # a range: 5000-5003
                current["expose"] |= set(range(int(first), int(last or first) + 1))
        elif instruction == "CMD":
            current["cmd"] = yaml.safe_load(rest) if rest.startswith("[") else ["sh", "-c", rest]
    return stages


def _image_builds(services: dict[str, dict]) -> dict[str, dict]:
    """image -> the EXPOSEd ports and CMD of the Dockerfile stage that builds it."""
    builds = {}
    for service in services.values():
        build = service.get("build")
        if isinstance(build, dict) and service.get("image"):
            dockerfile = Path(build["context"]) / build.get("dockerfile", "Dockerfile")
            builds[_image(service["image"])] = _dockerfile_stages(str(dockerfile))[build.get("target", "")]
    return builds


_CURL = re.compile(r"^curl -fsS -o /dev/null http://127\.0\.0\.1(?::(?P<port>\d+))?(?P<path>/\S*)$")


def _compose_health(check: dict | None):
    if not check or check.get("disable"):
        return None
    test = check["test"]
    if isinstance(test, str):
        test = ["CMD-SHELL", test]
    if test[0] == "NONE":
        return None
    if test[0] == "CMD-SHELL":
        curl = _CURL.match(test[1])
        probe = ("http", int(curl["port"] or 80), curl["path"]) if curl else ("shell", test[1])
    else:
        probe = ("exec", tuple(test[1:]))
    return probe, _seconds(check.get("interval"), 30), _seconds(check.get("timeout"), 30)


def compose_view(services: dict[str, dict]) -> dict[str, dict]:
    """What parity compares, per compose service."""
    builds = _image_builds(services)
    view = {}
    for name, service in services.items():
        image = _image(service.get("image"))
        command = _command(service.get("command"))
        build = builds.get(image, {"expose": set(), "cmd": None})
        ports = set()
        for port in service.get("ports", []):
            target = port["target"] if isinstance(port, dict) else str(port).rsplit(":", 1)[-1].split("/")[0]
            ports.add(int(target))
        if command is None or (build["cmd"] and command[:1] == build["cmd"][:1]):
            ports |= build["expose"]
        volumes = []
        for volume in service.get("volumes", []):
            if isinstance(volume, dict):
                source, target, read_only = volume.get("source"), volume["target"], volume.get("read_only", False)
            else:
                source, target, *mode = volume.split(":")
                read_only = "ro" in mode[0].split(",") if mode else False
            if source and not source.startswith((".", "/", "~")):  # named volumes only
                volumes.append((target, read_only))
        view[name] = {
            "kind": "test-only"
            if "test" in service.get("profiles", [])
            else ("long-running" if service.get("restart") in LONG_RUNNING else "one-shot"),
            "image": image,
            "env": dict(service.get("environment") or {}),
            "command": command,
            "entrypoint": _command(service.get("entrypoint")),
            "ports": ports,
            "health": _compose_health(service.get("healthcheck")),
            "volumes": volumes,
        }
    return view


# --- Kubernetes, rendered offline --------------------------------------------------------------------
def _render_module():
    spec = importlib.util.spec_from_file_location("k8s_render", ROOT / "deploy" / "k8s" / "render.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.cache
def _rendered_text(target: str) -> str:
    render = _render_module()
    kubectl = render.find_kubectl()
    if not kubectl:
        pytest.fail("no kubectl here: `make k8s-validate` installs one into .venv (or set KUBECTL)")
    return render.render(target, kubectl)


def rendered(target: str) -> list[dict]:
    """The objects of one kustomization (`base`, `dev`, `production`), a fresh copy each call."""
    return [doc for doc in yaml.safe_load_all(_rendered_text(target)) if doc]


def pod_spec(doc: dict) -> dict | None:
    if doc["kind"] in ("Deployment", "StatefulSet", "Job", "DaemonSet", "ReplicaSet"):
        return doc["spec"]["template"]["spec"]
    if doc["kind"] == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return None


def _port_number(container: dict, port) -> int:
    if isinstance(port, int):
        return port
    return next(p["containerPort"] for p in container.get("ports", []) if p.get("name") == port)


def _k8s_health(container: dict):
    probe = container.get("readinessProbe") or container.get("livenessProbe")
    if not probe:
        return None
    if "httpGet" in probe:
        check = ("http", _port_number(container, probe["httpGet"]["port"]), probe["httpGet"].get("path", "/"))
    elif "exec" in probe:
        command = probe["exec"]["command"]
        check = ("shell", command[2]) if command[:2] in (["sh", "-c"], ["/bin/sh", "-c"]) else ("exec", tuple(command))
    elif "tcpSocket" in probe:
        check = ("tcp", _port_number(container, probe["tcpSocket"]["port"]))
    else:
        check = ("grpc", probe.get("grpc", {}).get("port"))
    return check, probe.get("periodSeconds", 10), probe.get("timeoutSeconds", 1)


def k8s_view(docs: list[dict]) -> tuple[dict[str, dict], set[str]]:
    """What parity compares, per workload (its first container is the one compared), and the Secrets."""
    config_maps = {doc["metadata"]["name"]: doc.get("data", {}) for doc in docs if doc["kind"] == "ConfigMap"}
    secrets = {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == "Secret"}
    view = {}
    for doc in docs:
        spec = pod_spec(doc)
        if spec is None:
            continue
        container = spec["containers"][0]
        env: dict[str, object] = {}
        for source in container.get("envFrom", []):
            prefix = source.get("prefix", "")
            if "configMapRef" in source:
                env.update({prefix + k: v for k, v in config_maps[source["configMapRef"]["name"]].items()})
            if "secretRef" in source:
                secret = secrets[source["secretRef"]["name"]]
                keys = {**secret.get("data", {}), **secret.get("stringData", {})}
                env.update(dict.fromkeys((prefix + key for key in keys), SECRET))
        for item in container.get("env", []):
            if "value" in item:
                env[item["name"]] = item["value"]
            elif "configMapKeyRef" in item.get("valueFrom", {}):
                ref = item["valueFrom"]["configMapKeyRef"]
                env[item["name"]] = config_maps[ref["name"]][ref["key"]]
            elif "secretKeyRef" in item.get("valueFrom", {}):
                env[item["name"]] = SECRET
            else:
                env[item["name"]] = None  # fieldRef/resourceFieldRef: set at run time
        claims = {claim["metadata"]["name"] for claim in doc["spec"].get("volumeClaimTemplates", [])}
        view[doc["metadata"]["name"]] = {
            "kind": doc["kind"],
            "image": container.get("image"),
            "env": env,
            "command": container.get("args"),
            "entrypoint": container.get("command"),
            "ports": {port["containerPort"] for port in container.get("ports", [])},
            "health": _k8s_health(container),
            "mounts": {
                m["mountPath"]: (m["name"] in claims, m.get("readOnly", False))
                for m in container.get("volumeMounts", [])
            },
        }
    return view, set(secrets)


PATRONI_SH = ROOT / "deploy" / "postgres" / "patroni.sh"


@functools.cache
def patroni_kubernetes_store() -> dict:
    """The `kubernetes:` section deploy/postgres/patroni.sh writes in a pod (its store() function), the
    values it computes at run time (namespace, pod_ip) as placeholders."""
    body = re.search(r"^store\(\) \{\n(.*?)^\}\n", PATRONI_SH.read_text(), re.S | re.M).group(1)
    heredoc = re.search(r"cat <<YAML\n(.*?)^YAML\n", body, re.S | re.M).group(1)
    return yaml.safe_load(re.sub(r": \$\(.*$", ": placeholder", heredoc, flags=re.M))["kubernetes"]


# A route: where a PgBouncer pool's address leads, as (shard server, "leader" | "standby" | "member",
# the members it may reach), or None when it leads nowhere known.
Route = tuple[str, str, tuple[str, ...]] | None


def haproxy_routes(view: dict[str, dict]):
    """Routes under compose and Swarm: the ports of each service's HAProxy (deploy/db-haproxy/entrypoint.sh:
    the i-th server of DB_SERVERS has its leader on 5000+2i and its standby on 5001+2i), or a member itself."""
    ports = {}
    for name, item in view.items():
        for i, entry in enumerate((item["env"].get("DB_SERVERS") or "").split()):
            server, members = entry.split("=", 1)
            members = tuple(sorted(members.split(",")))
            ports[(name, 5000 + 2 * i)] = (server, "leader", members)
            ports[(name, 5001 + 2 * i)] = (server, "standby", members)

    def route(host: str, port: int) -> Route:
        if (host, port) in ports:
            return ports[(host, port)]
        scope = (view.get(host) or {}).get("env", {}).get("PATRONI_SCOPE")
        return (scope, "member", (host,)) if scope and port == 5432 else None

    return route


def k8s_routes(docs: list[dict], view: dict[str, dict]):
    """Routes in Kubernetes: a Service without selector is the leader of the shard server of its name (Patroni
    keeps the Endpoints of that name on the member holding the leader key, `use_endpoints`); a Service
    selecting the role label Patroni sets (store()'s role_label) at `replica` is the server's standby."""
    store = patroni_kubernetes_store()
    services = {doc["metadata"]["name"]: doc["spec"] for doc in docs if doc["kind"] == "Service"}
    pods = {
        doc["metadata"]["name"]: doc["spec"]["template"]["metadata"].get("labels", {}) for doc in docs if pod_spec(doc)
    }
    roles = {"replica": "standby", "master": "leader", "primary": "leader", None: "member"}

    def route(host: str, port: int) -> Route:
        spec = services.get(host)
        if spec is None or port not in {p["port"] for p in spec.get("ports", [])}:
            return None
        selector = dict(spec.get("selector") or {})
        if not selector:
            members = tuple(sorted(n for n, item in view.items() if item["env"].get("PATRONI_SCOPE") == host))
            return (host, "leader", members) if members else None
        role = selector.pop(store["role_label"], None)  # set on the pod by Patroni, at run time
        members = tuple(sorted(n for n, labels in pods.items() if selector.items() <= labels.items()))
        return (selector.get(store["scope_label"]), roles.get(role, role), members)

    return route


def topology(view: dict[str, dict], route) -> dict[str, dict]:
    """Per database: the shard server of each member (PATRONI_SCOPE), and where each pool of each PgBouncer
    (DB_NAME, PGBOUNCER_SERVERS) leads (`route`)."""
    found: dict[str, dict] = defaultdict(lambda: {"servers": {}, "pgbouncer": {}})
    for name, item in view.items():
        env = item["env"]
        if item["kind"] == "test-only":
            continue
        if "PGBOUNCER_SERVERS" in env:
            pools = {}
            for entry in env["PGBOUNCER_SERVERS"].split():
                pool, address = entry.split("=", 1)
                host, _, port = address.partition(":")  # deploy/pgbouncer/entrypoint.sh: host[:port]
                pools[pool] = route(host, int(port or 5432))
            found[env.get("DB_NAME")]["pgbouncer"][name] = pools
        if "POSTGRES_DB" in env:
            found[env["POSTGRES_DB"]]["servers"][name] = env.get("PATRONI_SCOPE")
    return {db: dict(parts) for db, parts in found.items()}


def _is_generated(name: str, base: str) -> bool:
    return name == base or re.fullmatch(re.escape(base) + r"-[a-z0-9]{10}", name) is not None


def _agree(name, expected, actual, side, only_env, own_value, only_ports, not_env=None) -> list[str]:
    """Disagreements on image, command line, environment (names; non-secret values), ports between a
    compose service's view and its counterpart's on `side` (Kubernetes or Swarm)."""
    found = []
    if actual["image"] != expected["image"]:
        found.append(f"{name}: image {expected['image']} in compose, {actual['image']} in {side}")
    if (actual["command"], actual["entrypoint"]) != (expected["command"], expected["entrypoint"]):
        found.append(
            f"{name}: command line: compose command={expected['command']} entrypoint={expected['entrypoint']}, "
            f"{side} {'args' if side == 'Kubernetes' else 'command'}={actual['command']} "
            f"{'command' if side == 'Kubernetes' else 'entrypoint'}={actual['entrypoint']}"
        )
    names_c = set(expected["env"]) - (not_env or {}).get(name, set())
    names_o = set(actual["env"]) - only_env.get(name, set())
    if names_c != names_o:
        found.append(
            f"{name}: environment variable names: only in compose {sorted(names_c - names_o)}, "
            f"only in {side} {sorted(names_o - names_c)}"
        )
    for var in sorted(names_c & names_o - own_value.get(name, set())):
        value_o, value_c = actual["env"][var], expected["env"][var]
        if value_o is not SECRET and value_o is not None and value_c is not None and value_o != value_c:
            found.append(f"{name}: environment {var}={value_c!r} in compose, {value_o!r} in {side}")
    ports_o = actual["ports"] - only_ports.get(name, set())
    if ports_o != expected["ports"]:
        found.append(f"{name}: container ports {sorted(expected['ports'])} in compose, {sorted(ports_o)} in {side}")
    return found


def _postgres_exporter_reads(compose: dict[str, dict], k8s: dict[str, dict], docs: list[dict]) -> list[str]:
    """postgres-exporter must read the same members of the same databases: compose names them by service,
    Kubernetes by pod (`<statefulset>-0.<its governing Service>`)."""
    pod_names = {
        f"{doc['metadata']['name']}-0.{doc['spec']['serviceName']}": doc["metadata"]["name"]
        for doc in docs
        if doc["kind"] == "StatefulSet"
    }
    if "postgres-exporter" not in compose or "postgres-exporter" not in k8s:
        return []

    def reads(value, member) -> list[tuple[str | None, str]]:
        return [(member(entry.split("/")[0]), entry.split("/", 1)[1]) for entry in (value or "").split()]

    expected = reads(compose["postgres-exporter"]["env"].get("PG_SERVERS"), lambda host: host)
    actual = reads(k8s["postgres-exporter"]["env"].get("PG_SERVERS"), pod_names.get)  # None: not a member's pod
    if expected != actual:
        return [f"postgres-exporter: PG_SERVERS reads {expected} in compose, {actual} in Kubernetes"]
    return []


def differences(services: dict[str, dict], docs: list[dict]) -> list[str]:
    """Every disagreement between the compose services and the rendered Kubernetes objects."""
    compose, (k8s, secrets) = compose_view(services), k8s_view(docs)
    found = []
    for name, expected in sorted(compose.items()):
        if expected["kind"] == "test-only" or name in COMPOSE_ONLY or name in NOT_IN_K8S:
            continue
        if name in ONE_SHOT_AS_SECRET:
            if not any(_is_generated(secret, ONE_SHOT_AS_SECRET[name]) for secret in secrets):
                found.append(f"{name}: no Secret {ONE_SHOT_AS_SECRET[name]} stands for the one-shot")
            continue
        actual = k8s.get(name)
        kinds = ("Deployment", "StatefulSet") if expected["kind"] == "long-running" else ("Job",)
        if actual is None:
            found.append(f"{name}: no Kubernetes workload of this name (a {' or '.join(kinds)})")
            continue
        if actual["kind"] not in kinds:
            found.append(f"{name}: a {expected['kind']} compose service is a {actual['kind']} in Kubernetes")
        found += _agree(
            name, expected, actual, "Kubernetes", K8S_ONLY_ENV, K8S_OWN_VALUE, K8S_ONLY_PORTS, NOT_IN_K8S_ENV
        )
        health = expected["health"]
        if name in K8S_HTTP_HEALTH:
            timing = health[1:] if health else (actual["health"] or (None,))[1:]
            health = (("http", *K8S_HTTP_HEALTH[name]), *timing)
        if actual["health"] != health:
            found.append(f"{name}: health check {health} in compose, readiness {actual['health']} in Kubernetes")
        for target, read_only in expected["volumes"]:
            covering = [
                (claim, ro)
                for path, (claim, ro) in actual["mounts"].items()
                if target == path or target.startswith(path.rstrip("/") + "/")
            ]
            if not covering:
                found.append(f"{name}: nothing is mounted on {target} in Kubernetes")
            elif not read_only and (name, target) not in OPERATOR_CONFIG and not any(claim for claim, _ in covering):
                found.append(f"{name}: {target} holds data in compose but is not on a volume claim in Kubernetes")
    for name in sorted(set(k8s) - set(compose) - set(K8S_ONLY_WORKLOADS)):
        found.append(f"{name}: a Kubernetes {k8s[name]['kind']} with no compose service (nor in K8S_ONLY_WORKLOADS)")
    found += _postgres_exporter_reads(compose, k8s, docs)
    topology_c, topology_k = topology(compose, haproxy_routes(compose)), topology(k8s, k8s_routes(docs, k8s))
    if topology_c != topology_k:
        for db in sorted(set(topology_c) | set(topology_k), key=str):
            if topology_c.get(db) != topology_k.get(db):
                found.append(f"shard topology of {db}: compose {topology_c.get(db)}, Kubernetes {topology_k.get(db)}")
    return found


# --- Docker Swarm, rendered from compose's own model ---------------------------------------------------
# Swarm's health check replaces a task that fails it: web services are checked on /health/live/ there
# (compose and Kubernetes readiness use /health/, which fails while a dependency is down)
SWARM_LIVENESS_HEALTH = {"user", "product", "order"}
# a stack file has no dns_opt: the shard servers' resolver options are their RES_OPTIONS there
# (deploy/swarm/render.py; tests/test_swarm_render.py checks the value)
SWARM_ONLY_ENV: dict[str, set[str]] = dict.fromkeys(SHARD_MEMBERS, {"RES_OPTIONS"})
SWARM_OWN_VALUE: dict[str, set[str]] = {}
SWARM_ONLY_PORTS: dict[str, set[int]] = {}


@functools.cache
def swarm_render():
    """deploy/swarm/render.py as a module."""
    spec = importlib.util.spec_from_file_location("swarm_render", ROOT / "deploy" / "swarm" / "render.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.cache
def _compose_model() -> str:
    """`docker compose config --format json` with compose's defaults only (no .env, no IMAGE_PREFIX...)."""
    env = {key: value for key, value in os.environ.items() if key in ("PATH", "HOME") or key.startswith("DOCKER_")}
    result = subprocess.run(
        ["docker", "compose", "--env-file", "/dev/null", "config", "--format", "json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


def swarm_stack() -> dict:
    """The stack `make swarm-up` deploys, rendered from compose's defaults; a fresh copy each call."""
    keys = {"jwt_private": b"private", "jwt_public": b"public"}
    return swarm_render().render(json.loads(_compose_model()), keys)[0]


def swarm_view(stack: dict, builds: dict[str, dict]) -> dict[str, dict]:
    """What parity compares, per Swarm service (as compose_view; `$$` unescaped, secrets by name)."""
    render = swarm_render()
    view = {}
    for name, service in stack["services"].items():
        env: dict[str, object] = {}
        files = {}  # secret -> the variable it stands for
        for variable, value in service.get("environment", {}).items():
            base = variable.removesuffix("_FILE")
            secret = render.secret_for(name, base)
            if variable.endswith("_FILE") and secret and value.startswith(render.SECRETS_DIR):
                env[base], files[secret] = SECRET, base
            else:
                env[variable] = None if value is None else render._unescape(value)
        health = copy.deepcopy(service.get("healthcheck"))
        if health and health["test"][0] == "CMD-SHELL":
            command = render._unescape(health["test"][1])
            for secret, variable in files.items():
                command = command.replace(f"$(cat {render.SECRETS_DIR}/{secret})", f"${variable}")
            health["test"] = ["CMD-SHELL", command]
        image = _image(service["image"])
        command = [render._unescape(word) for word in service["command"]] if service.get("command") else None
        build = builds.get(image, {"expose": set(), "cmd": None})
        ports = {port["target"] for port in service.get("ports", [])}
        if command is None or (build["cmd"] and command[:1] == build["cmd"][:1]):
            ports |= build["expose"]
        volumes = [(v["target"], v.get("read_only", False)) for v in service.get("volumes", []) if v.get("source")]
        volumes += [(s["target"], True) for s in service.get("secrets", []) if s["target"].startswith("/")]
        view[name] = {
            "kind": "one-shot" if service["deploy"].get("mode") == "replicated-job" else "long-running",
            "image": image,
            "env": env,
            "command": command,
            "entrypoint": service.get("entrypoint"),
            "ports": ports,
            "health": _compose_health(health),
            "volumes": volumes,
        }
    return view


def swarm_differences(services: dict[str, dict], stack: dict) -> list[str]:
    """Every disagreement between the compose services and the Swarm stack."""
    compose, swarm = compose_view(services), swarm_view(stack, _image_builds(services))
    dropped = swarm_render().DROPPED
    found = []
    for name, expected in sorted(compose.items()):
        if expected["kind"] == "test-only":
            continue
        if name in dropped:
            if name in ONE_SHOT_AS_SECRET and not {secret for secret, _ in swarm_render().KEY_VOLUMES.values()} <= set(
                stack.get("secrets", {})
            ):
                found.append(f"{name}: no Swarm secrets stand for the one-shot ({dropped[name]})")
            continue
        actual = swarm.get(name)
        if actual is None:
            found.append(f"{name}: no Swarm service of this name")
            continue
        if actual["kind"] != expected["kind"]:
            found.append(f"{name}: a {expected['kind']} compose service is a {actual['kind']} Swarm service")
        found += _agree(name, expected, actual, "Swarm", SWARM_ONLY_ENV, SWARM_OWN_VALUE, SWARM_ONLY_PORTS)
        health = expected["health"]
        if name in SWARM_LIVENESS_HEALTH and health and health[0] == ("http", 8000, "/health/"):
            health = (("http", 8000, "/health/live/"), *health[1:])
        if actual["health"] != health:
            found.append(f"{name}: health check {expected['health']} in compose, {actual['health']} in Swarm")
        for target, read_only in expected["volumes"]:
            same = [ro for path, ro in actual["volumes"] if path == target]
            # a key pair's volume is a secret file under the same directory (read-only by nature)
            under = [path for path, _ in actual["volumes"] if read_only and path.startswith(target.rstrip("/") + "/")]
            if not same and not under:
                found.append(f"{name}: nothing is mounted on {target} in Swarm")
            elif same and same[0] != read_only:
                found.append(f"{name}: {target} is {'read-only' if read_only else 'read-write'} in compose only")
    for name in sorted(set(swarm) - set(compose)):
        found.append(f"{name}: a Swarm service with no compose service")
    topology_c, topology_s = topology(compose, haproxy_routes(compose)), topology(swarm, haproxy_routes(swarm))
    for db in sorted(set(topology_c) | set(topology_s), key=str):
        if topology_c.get(db) != topology_s.get(db):
            found.append(f"shard topology of {db}: compose {topology_c.get(db)}, Swarm {topology_s.get(db)}")
    return found


# --- the tests ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def compose() -> dict[str, dict]:
    return load_compose()


def test_compose_is_read_as_compose_resolves_it(compose):
    # extends from common.yml with the service's own additions, and ${VAR:-default} and $$ resolved
    assert compose["user-worker"]["command"] == ["worker"]
    assert compose["user-worker"]["environment"]["SERVICE_NAME"] == "user"
    assert compose["user-worker"]["environment"]["LOGICAL_SHARDS"] == "16"
    assert compose["user-worker"]["healthcheck"]["test"][1].startswith("find /tmp/worker-alive ")
    assert "PGPASSWORD=$APP_PASSWORD " in compose["user-pgbouncer"]["healthcheck"]["test"][1]
    assert compose["order-db-1-replica"]["environment"]["PATRONI_SCOPE"] == "order-db-1"
    assert compose["order-db-1-replica"]["environment"]["ETCD_HOSTS"] == "etcd-0:2379,etcd-1:2379,etcd-2:2379"
    assert compose["gateway"]["healthcheck"]["test"][1].endswith("/health/live/")
    assert compose["gateway"]["healthcheck"]["interval"] == "10s"  # from django-web
    assert compose["nginx"]["ports"] == ["127.0.0.1:8080:80"]
    assert compose["test-db"]["profiles"] == ["test"]
    view = compose_view(compose)
    assert view["user"]["ports"] == {8000} and view["user-worker"]["ports"] == set()
    assert view["redis-broker"]["ports"] == {6379} and view["nginx"]["ports"] == {80}
    assert view["order-db-haproxy"]["ports"] == {5000, 5001, 5002, 5003}  # EXPOSE 5000-5003
    assert view["order-db-0"]["ports"] == {5432, 8008}


def test_patronis_kubernetes_store_is_read_from_patroni_sh():
    store = patroni_kubernetes_store()
    assert store["use_endpoints"] is True and store["ports"] == [{"name": "postgres", "port": 5432}]
    assert store["scope_label"] == "scaling-django/shard" and store["role_label"] == "scaling-django/role"


def test_the_shard_topology_is_what_design_md_says(compose):
    view = compose_view(compose)
    found = topology(view, haproxy_routes(view))
    assert set(found) == {"users", "products", "orders"}
    for db, svc in (("users", "user"), ("products", "product"), ("orders", "order")):
        # two shard servers of two members each (Patroni: either member may lead)
        assert found[db]["servers"] == {
            f"{svc}-db-0": f"{svc}-db-0",
            f"{svc}-db-0-replica": f"{svc}-db-0",
            f"{svc}-db-1": f"{svc}-db-1",
            f"{svc}-db-1-replica": f"{svc}-db-1",
        }
        # PgBouncer's pools: each server's leader (db<n>) and standby (db<n>_replica), among its two members
        members = {n: (f"{svc}-db-{n}", f"{svc}-db-{n}-replica") for n in (0, 1)}
        assert found[db]["pgbouncer"] == {
            f"{svc}-pgbouncer": {
                **{f"db{n}": (f"{svc}-db-{n}", "leader", members[n]) for n in (0, 1)},
                **{f"db{n}_replica": (f"{svc}-db-{n}", "standby", members[n]) for n in (0, 1)},
            }
        }


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_compose_and_kubernetes_agree(compose, overlay):
    assert differences(compose, rendered(overlay)) == []


def test_compose_and_the_swarm_stack_agree(compose):
    assert swarm_differences(compose, swarm_stack()) == []


def test_compose_swarm_and_kubernetes_run_the_same_services_on_the_same_images(compose):
    # what each of the three runs, and on which image (the one-shot jwt-keys is a secret in both others;
    # the autoscaler is compose's own, COMPOSE_ONLY; the exporters and Alertmanager are not in Swarm yet)
    view = compose_view(compose)
    expected = {name: item["image"] for name, item in view.items() if item["kind"] != "test-only"}
    expected = {name: image for name, image in expected.items() if name not in {*ONE_SHOT_AS_SECRET, *COMPOSE_ONLY}}
    swarm = {name: _image(service["image"]) for name, service in swarm_stack()["services"].items()}
    k8s = {name: item["image"] for name, item in k8s_view(rendered("base"))[0].items()}
    k8s = {name: image for name, image in k8s.items() if name not in K8S_ONLY_WORKLOADS}
    assert swarm == {name: image for name, image in expected.items() if name not in NOT_IN_SWARM}
    assert k8s == {name: image for name, image in expected.items() if name not in NOT_IN_K8S}
    assert NOT_IN_SWARM <= set(expected) and set(NOT_IN_K8S) <= set(swarm)
    assert set(swarm_render().DROPPED) == {*ONE_SHOT_AS_SECRET, *COMPOSE_ONLY, *NOT_IN_SWARM}
    assert "queue-exporter" in {container["name"] for container in _containers(rendered("base"), "redis-broker")}


# --- a change on one side only is caught -------------------------------------------------------------
def _add_env(services):
    services["product"]["environment"]["FEATURE_FLAG"] = "1"


def _change_image(services):
    services["order-worker"]["image"] = "scaling-django/order-v2"


def _drop_replica_pool(services):
    env = services["user-pgbouncer"]["environment"]
    env["PGBOUNCER_SERVERS"] = " ".join(e for e in env["PGBOUNCER_SERVERS"].split() if not e.startswith("db1_replica="))


def _swap_haproxy_ports(services):
    env = services["product-pgbouncer"]["environment"]  # db0 to the standby's port, db0_replica to the leader's
    env["PGBOUNCER_SERVERS"] = env["PGBOUNCER_SERVERS"].replace(":5000", ":500X").replace(":5001", ":5000")
    env["PGBOUNCER_SERVERS"] = env["PGBOUNCER_SERVERS"].replace(":500X", ":5001")


def _change_haproxy_members(services):
    env = services["order-db-haproxy"]["environment"]
    env["DB_SERVERS"] = env["DB_SERVERS"].replace("order-db-1,order-db-1-replica", "order-db-1,order-db-0-replica")


def _add_shard_server(services):
    services["product-db-2"] = copy.deepcopy(services["product-db-1"])


def _change_health_path(services):
    services["gateway"]["healthcheck"]["test"] = ["CMD-SHELL", "curl -fsS -o /dev/null http://127.0.0.1:8000/health/"]


def _change_port(services):
    services["nginx"]["ports"] = ["127.0.0.1:8080:8080"]


def _change_command(services):
    services["redis-cache"]["command"] = [*services["redis-cache"]["command"][:-1], "yes"]


def _remove_service(services):
    del services["user-worker"]


def _change_value(services):
    services["gateway"]["environment"]["WEB_THREADS"] = "8"


def _move_volume(services):
    services["redis-broker"]["volumes"] = ["redis-broker:/var/lib/redis"]


def _change_primary(services):
    services["order-db-1-replica"]["environment"]["PATRONI_SCOPE"] = "order-db-0"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_add_env, "product: environment variable names"),
        (_change_image, "order-worker: image"),
        (_drop_replica_pool, "shard topology of users"),
        (_add_shard_server, "product-db-2: no Kubernetes workload"),
        (_change_health_path, "gateway: health check"),
        (_change_port, "nginx: container ports"),
        (_change_command, "redis-cache: command line"),
        (_remove_service, "user-worker: a Kubernetes Deployment with no compose service"),
        (_change_value, "gateway: environment WEB_THREADS"),
        (_move_volume, "redis-broker: nothing is mounted on /var/lib/redis"),
        (_change_primary, "shard topology of orders"),
        (_swap_haproxy_ports, "shard topology of products"),
        (_change_haproxy_members, "shard topology of orders"),
    ],
)
def test_a_compose_change_not_made_in_kubernetes_fails(compose, change, expected):
    changed = copy.deepcopy(compose)
    change(changed)
    found = differences(changed, rendered("base"))
    assert any(line.startswith(expected) for line in found), found


def _containers(docs, name):
    doc = next(d for d in docs if d["metadata"]["name"] == name and pod_spec(d) is not None)
    return pod_spec(doc)["containers"]


def test_a_kubernetes_change_not_made_in_compose_fails(compose):
    docs = rendered("base")
    order = _containers(docs, "order")[0]
    order["env"] = [item for item in order["env"] if item["name"] != "DB_HOST"]
    replica = _containers(docs, "user-db-1-replica")[0]
    next(item for item in replica["env"] if item["name"] == "PATRONI_SCOPE")["value"] = "user-db-0"
    _containers(docs, "product-worker")[0]["args"] = ["worker", "--concurrency", "8"]
    services = {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == "Service"}
    services["order-db-1-standby"]["spec"]["selector"]["scaling-django/shard"] = "order-db-0"  # another server's
    services["product-db-0"]["spec"]["selector"] = {"app.kubernetes.io/name": "product-db-0"}  # one member, always
    exporter = next(item for item in _containers(docs, "postgres-exporter")[0]["env"] if item["name"] == "PG_SERVERS")
    exporter["value"] = exporter["value"].replace("order-db-1-replica-0.order-db-1-members", "order-db-1-replica")
    found = differences(compose, docs)
    assert any(line.startswith("order: environment variable names") for line in found), found
    assert any(line.startswith("shard topology of users") for line in found), found
    assert any(line.startswith("product-worker: command line") for line in found), found
    assert any(line.startswith("shard topology of orders") for line in found), found
    assert any(line.startswith("shard topology of products") for line in found), found
    assert any(line.startswith("postgres-exporter: PG_SERVERS reads") for line in found), found


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_add_env, "product: environment variable names"),
        (_change_image, "order-worker: image"),
        (_drop_replica_pool, "shard topology of users"),
        (_add_shard_server, "product-db-2: no Swarm service"),
        (_change_health_path, "gateway: health check"),
        (_change_command, "redis-cache: command line"),
        (_remove_service, "user-worker: a Swarm service with no compose service"),
        (_change_value, "gateway: environment WEB_THREADS"),
        (_move_volume, "redis-broker: nothing is mounted on /var/lib/redis"),
        (_change_primary, "shard topology of orders"),
        (_swap_haproxy_ports, "shard topology of products"),
        (_change_haproxy_members, "shard topology of orders"),
    ],
)
def test_a_compose_change_not_made_in_the_swarm_stack_fails(compose, change, expected):
    # the stack is rendered from compose: a stale or hand-edited stack is what this catches
    changed = copy.deepcopy(compose)
    change(changed)
    found = swarm_differences(changed, swarm_stack())
    assert any(line.startswith(expected) for line in found), found


def test_a_swarm_change_not_made_in_compose_fails(compose):
    # what render.py decides on its own must not change what compose defines
    stack = swarm_stack()
    services = stack["services"]
    del services["order"]["environment"]["DB_HOST"]
    services["user-db-1-replica"]["environment"]["PATRONI_SCOPE"] = "user-db-0"
    services["product-worker"]["command"] = ["worker", "--concurrency", "8"]
    services["gateway"]["healthcheck"]["test"] = ["CMD-SHELL", "curl -fsS -o /dev/null http://127.0.0.1:8000/health/"]
    services["order-migrate"]["deploy"]["mode"] = "replicated"
    services["redis-broker"]["volumes"][0]["read_only"] = True
    services["user"]["environment"]["DB_PASSWORD"] = "in-the-environment"
    del services["user"]["environment"]["DB_PASSWORD_FILE"]
    services["product"]["image"] = "scaling-django/product:other"
    found = swarm_differences(compose, stack)
    for expected in (
        "order: environment variable names",
        "shard topology of users",
        "product-worker: command line",
        "gateway: health check",
        "order-migrate: a one-shot compose service is a long-running Swarm service",
        "redis-broker: /data is read-write in compose only",
        "user: environment DB_PASSWORD=",
        "product: image",
    ):
        assert any(line.startswith(expected) for line in found), (expected, found)


def test_interpolation_follows_compose():
    env = {"SET": "x", "EMPTY": ""}
    assert interpolate("${UNSET:-d} ${EMPTY:-d} ${EMPTY-d} ${SET:-d} $$HOME ${SET} $SET", env) == "d d  x $HOME x x"
    assert interpolate("${SET:+alt}${UNSET:+alt}", env) == "alt"
    with pytest.raises(ValueError):
        interpolate("${UNSET:?needed}", env)
