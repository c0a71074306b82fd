"""The Kubernetes manifests (deploy/k8s), rendered offline with `kubectl kustomize`: their structure.

No cluster: each kustomization is rendered (deploy/k8s/render.py, placeholder secrets) and the objects
are checked; Docker only for the image's promtool on the Prometheus config. Parity with compose (names,
images, environment, ports, health checks, shard topology) is tests/test_parity.py; schema validation is
`make k8s-validate`.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections import defaultdict

import pytest
import yaml
from test_parity import (
    COMPOSE_ONLY,
    NOT_IN_K8S,
    OVERLAYS,
    ROOT,
    SHARD_MEMBERS,
    compose_view,
    load_compose,
    patroni_kubernetes_store,
    pod_spec,
    rendered,
)

pytestmark = pytest.mark.topology  # the services' Kubernetes manifests

SERVICES = ("user", "product", "order")
WEB = ("gateway", *SERVICES)
WORKERS = tuple(f"{svc}-worker" for svc in SERVICES)
# the seed's HPA (shared/seeds/000, "Kubernetes Horizontal Pod Autoscaler")
SEED_BEHAVIOR = {
    "scaleDown": {
        "stabilizationWindowSeconds": 300,
        "policies": [
            {"type": "Percent", "value": 10, "periodSeconds": 60},
            {"type": "Pods", "value": 2, "periodSeconds": 60},
        ],
        "selectPolicy": "Min",
    },
    "scaleUp": {
        "stabilizationWindowSeconds": 60,
        "policies": [
            {"type": "Percent", "value": 50, "periodSeconds": 60},
            {"type": "Pods", "value": 5, "periodSeconds": 60},
        ],
        "selectPolicy": "Max",
    },
}


@pytest.fixture(scope="module")
def compose() -> dict[str, dict]:
    return compose_view(load_compose())


def objects(docs: list[dict], kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def workloads(docs: list[dict]) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in docs if pod_spec(doc) is not None}


def matches(selector: dict, labels: dict) -> bool:
    """A Kubernetes label selector (matchLabels and matchExpressions) against a set of labels."""
    if any(labels.get(key) != value for key, value in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        ok = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[operator]
        if not ok:
            return False
    return True


def pod_labels(doc: dict) -> dict:
    return doc["spec"]["template"]["metadata"]["labels"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_long_running_compose_service_has_a_workload(compose, overlay):
    found = workloads(rendered(overlay))
    for name, service in compose.items():
        if service["kind"] == "long-running" and name not in COMPOSE_ONLY and name not in NOT_IN_K8S:
            assert name in found, f"compose service {name} has no Kubernetes workload"
            assert found[name]["kind"] in ("Deployment", "StatefulSet"), name
        elif name.endswith("-migrate"):
            assert found[name]["kind"] == "Job", name
            assert pod_spec(found[name])["containers"][0]["args"] == ["migrate"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_shard_servers_and_redis_broker_are_statefulsets_on_volume_claims(compose, overlay):
    docs = rendered(overlay)
    found, services = workloads(docs), objects(docs, "Service")
    shard_servers = [
        name
        for name, s in compose.items()
        if s["image"] == "scaling-django/postgres:latest" and s["kind"] != "test-only" and name != "pg-restore"
    ]
    assert sorted(shard_servers) == sorted(SHARD_MEMBERS)  # 3 services x 2 shard servers x 2 members
    for name in [*shard_servers, "redis-broker", "prometheus"]:
        doc = found[name]
        assert doc["kind"] == "StatefulSet" and doc["spec"]["replicas"] == 1, name
        claims = [claim["metadata"]["name"] for claim in doc["spec"].get("volumeClaimTemplates", [])]
        assert claims, f"{name} has no volumeClaimTemplate"
        mounts = {m["name"] for m in pod_spec(doc)["containers"][0]["volumeMounts"]}
        assert set(claims) <= mounts, name
        # the governing Service is headless and selects the pod. It has the compose name, but for a shard
        # server's members: that name is the server's leader Service, and both members share
        # <server>-members (pods <member>-0.<server>-members)
        service = services[doc["spec"]["serviceName"]]
        env = {e["name"]: e for e in pod_spec(doc)["containers"][0].get("env", [])}
        governing = f"{env['PATRONI_SCOPE']['value']}-members" if name in shard_servers else name
        assert doc["spec"]["serviceName"] == governing and service["spec"].get("clusterIP") == "None", name
        assert matches({"matchLabels": service["spec"]["selector"]}, pod_labels(doc)), name
    for name in shard_servers:
        spec = pod_spec(found[name])
        container = spec["containers"][0]
        env = {e["name"]: e for e in container["env"]}
        for secret in ("POSTGRES_PASSWORD", "APP_PASSWORD", "REPLICATION_PASSWORD"):
            assert "secretKeyRef" in env[secret]["valueFrom"], (name, secret)
        # a Patroni member: its server, its pod's name and address (Patroni patches its pod by name, and
        # puts its address in the leader's Endpoints), never the old fixed roles
        assert env["PATRONI_SCOPE"]["value"] == name.removesuffix("-replica"), name
        assert env["PATRONI_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}, name
        assert env["POD_IP"]["valueFrom"] == {"fieldRef": {"fieldPath": "status.podIP"}}, name
        names = [e["name"] for e in container["env"]]
        for variable, port in (("PATRONI_RESTAPI_CONNECT_ADDRESS", 8008), ("PATRONI_POSTGRESQL_CONNECT_ADDRESS", 5432)):
            assert env[variable]["value"] == f"$(POD_IP):{port}", name
            assert names.index("POD_IP") < names.index(variable), name  # $(POD_IP) expands only if defined before
        assert not {"PG_ROLE", "PRIMARY_HOST", "ETCD_HOSTS"} & set(env), name
        assert {"name": "patroni", "containerPort": 8008} in container["ports"], name
        assert {"mountPath": "/var/lib/postgresql", "name": "data"} in container["volumeMounts"], name
        assert container["livenessProbe"]["httpGet"] == {"path": "/liveness", "port": "patroni"}, name
        assert spec["serviceAccountName"] == "patroni" and spec["automountServiceAccountToken"] is True, name
    redis_cache = pod_spec(found["redis-cache"])["containers"][0]
    assert found["redis-cache"]["kind"] == "StatefulSet" and "--save" in redis_cache["args"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_has_requests_and_limits(overlay):
    for name, doc in workloads(rendered(overlay)).items():
        spec = pod_spec(doc)
        for container in [*spec.get("initContainers", []), *spec["containers"]]:
            resources = container.get("resources", {})
            for part in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources.get(part, {})), f"{name}/{container['name']}: no {part}"


def _quantity(value: str) -> float:
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "": 1}
    number, unit = re.fullmatch(r"([\d.]+)([A-Za-z]*)", str(value)).groups()
    return float(number) * units[unit]


def test_production_is_larger_than_dev():
    dev, production = workloads(rendered("dev")), workloads(rendered("production"))
    for name in (*WEB, *WORKERS, "user-db-0", "user-pgbouncer", "nginx", "redis-broker"):
        small = pod_spec(dev[name])["containers"][0]["resources"]["requests"]
        large = pod_spec(production[name])["containers"][0]["resources"]["requests"]
        assert _quantity(large["cpu"]) > _quantity(small["cpu"]), name
        assert _quantity(large["memory"]) > _quantity(small["memory"]), name
    for name, doc in dev.items():
        if doc["kind"] == "Deployment":
            assert doc["spec"]["replicas"] == 1, f"dev runs one replica of {name}"
    for name in (*WEB,):
        assert production[name]["spec"]["replicas"] >= 3, name
    for name in (*WORKERS, "nginx", "user-pgbouncer"):
        assert production[name]["spec"]["replicas"] >= 2, name


def _routes(*files: str) -> set[str]:
    paths = set()
    for file in files:
        paths |= {"/" + path for path in re.findall(r'path\("([^"]*)"', (ROOT / file).read_text())}
    return paths


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_web_pods_have_readiness_and_liveness_probes_on_real_paths(overlay):
    found = workloads(rendered(overlay))
    routes = {"gateway": _routes("gateway/config/urls.py"), **dict.fromkeys(SERVICES, _routes("shared/urls.py"))}
    assert "/health/" in routes["user"]
    for name in WEB:
        container = pod_spec(found[name])["containers"][0]
        readiness, liveness = container["readinessProbe"], container["livenessProbe"]
        assert readiness["httpGet"]["path"] in routes[name], name
        assert readiness["httpGet"]["port"] == "http" and {"name": "http", "containerPort": 8000} in container["ports"]
        # liveness asks the process only, on every web pod
        assert liveness["httpGet"] == {"path": "/health/live/", "port": "http"}, name
        assert "/health/live/" in routes[name], name
    for name in SERVICES:
        assert pod_spec(found[name])["containers"][0]["readinessProbe"]["httpGet"]["path"] == "/health/"
    for name in WORKERS:
        probe = pod_spec(found[name])["containers"][0]["livenessProbe"]["exec"]["command"]
        assert "/tmp/worker-alive" in probe[-1], name  # the file the worker's event loop keeps fresh


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_hpas_are_the_seeds(overlay):
    docs = rendered(overlay)
    hpas, deployments = objects(docs, "HorizontalPodAutoscaler"), objects(docs, "Deployment")
    assert set(hpas) == {*WEB, *WORKERS}
    for name, hpa in hpas.items():
        assert hpa["apiVersion"] == "autoscaling/v2"
        target = hpa["spec"]["scaleTargetRef"]
        assert target["kind"] == "Deployment" and target["name"] == name and name in deployments
        assert hpa["spec"]["behavior"] == SEED_BEHAVIOR, name
        assert 1 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
        metrics = hpa["spec"]["metrics"]
        if name in WEB:
            resources = {m["resource"]["name"]: m["resource"]["target"] for m in metrics if m["type"] == "Resource"}
            assert resources == {
                "cpu": {"type": "Utilization", "averageUtilization": 70},
                "memory": {"type": "Utilization", "averageUtilization": 80},
            }
            # per pod, 100 on average: the web Service's rate over its replicas (DNS discovery gives no pod
            # names, so no Pods metric; base/hpa.yaml)
            requests = [m["object"] for m in metrics if m["type"] == "Object"]
            assert requests == [
                {
                    "describedObject": {"apiVersion": "v1", "kind": "Service", "name": name},
                    "metric": {"name": "http_requests_per_second"},
                    "target": {"type": "AverageValue", "averageValue": "100"},
                }
            ]
            assert {m["type"] for m in metrics} == {"Resource", "Object"}
            assert name in objects(docs, "Service")
        else:
            service = name.removesuffix("-worker")
            assert metrics == [
                {
                    "type": "External",
                    "external": {
                        "metric": {"name": "celery_queue_length", "selector": {"matchLabels": {"queue": service}}},
                        "target": {"type": "Value", "value": "50"},
                    },
                }
            ]
    if overlay == "production":
        for name in WEB:
            assert (hpas[name]["spec"]["minReplicas"], hpas[name]["spec"]["maxReplicas"]) == (3, 50)
        for name in hpas:
            assert deployments[name]["spec"]["replicas"] == hpas[name]["spec"]["minReplicas"], name


def _config_map(docs, prefix) -> dict:
    found = [doc for doc in docs if doc["kind"] == "ConfigMap" and doc["metadata"]["name"].startswith(prefix)]
    assert len(found) == 1, prefix
    return found[0]["data"]


@pytest.mark.parametrize("overlay", ("dev", "production"))
def test_the_metrics_behind_the_hpas_are_served(overlay):
    docs = rendered(overlay)
    adapter = yaml.safe_load(_config_map(docs, "prometheus-adapter-config")["config.yaml"])
    (rule,) = adapter["rules"]
    assert rule["seriesQuery"].startswith("django_http_requests_total_by_view_transport_method_total{")
    assert rule["name"]["as"] == "http_requests_per_second" and "rate(" in rule["metricsQuery"]
    assert rule["resources"]["overrides"] == {
        "namespace": {"resource": "namespace"},
        "service": {"resource": "service"},
    }
    assert rule["seriesQuery"].endswith('{namespace!="",service!=""}')
    (external,) = adapter["externalRules"]
    assert external["name"]["as"] == "celery_queue_length" and "queue" in external["metricsQuery"]
    assert external["resources"]["overrides"] == {"namespace": {"resource": "namespace"}}
    api_services = objects(docs, "APIService")
    assert set(api_services) == {"v1beta1.custom.metrics.k8s.io", "v1beta1.external.metrics.k8s.io"}
    assert {a["spec"]["service"]["name"] for a in api_services.values()} == {"prometheus-adapter"}
    assert "prometheus-adapter" in objects(docs, "Service") and "prometheus-adapter" in objects(docs, "Deployment")
    # Prometheus labels what the adapter maps: `service` (the DNS name, the web Service's) and `namespace`
    # (its own, where the HPAs and Services are)
    prometheus = yaml.safe_load(_config_map(docs, "prometheus-config")["prometheus.yml"])
    jobs = {job["job_name"]: job for job in prometheus["scrape_configs"]}
    (namespace,) = {doc["metadata"]["namespace"] for doc in workloads(docs).values()}
    assert {"target_label": "namespace", "replacement": namespace} in jobs["celery-queues"]["relabel_configs"]
    assert {"target_label": "namespace", "replacement": namespace} in jobs["django"]["relabel_configs"]
    assert {"source_labels": ["__meta_dns_name"], "target_label": "service"} in jobs["django"]["relabel_configs"]
    assert {"source_labels": ["key"], "target_label": "queue"} in jobs["celery-queues"]["metric_relabel_configs"]
    # the exporter watches every worker's queue
    broker = pod_spec(workloads(docs)["redis-broker"])
    exporter = next(c for c in broker["containers"] if c["name"] == "queue-exporter")
    keys = next(e["value"] for e in exporter["env"] if e["name"] == "REDIS_EXPORTER_CHECK_SINGLE_KEYS")
    assert keys == ",".join(f"db0={svc}" for svc in SERVICES)


def test_prometheus_scrapes_what_compose_scrapes_and_alerts_the_same():
    docs = rendered("base")
    compose = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    k8s = yaml.safe_load(_config_map(docs, "prometheus-config")["prometheus.yml"])
    jobs = {job["job_name"]: job for job in k8s["scrape_configs"]}
    compose_jobs = {job["job_name"]: job for job in compose["scrape_configs"]}
    # every compose job but the autoscaler's (Kubernetes scales with HPAs), the same rules and Alertmanager
    assert set(jobs) == set(compose_jobs) - {"autoscaler"}
    assert k8s["rule_files"] == compose["rule_files"] and k8s["alerting"] == compose["alerting"]
    assert "alertmanager" in objects(docs, "Service")
    # the labels compose's jobs give (service from the DNS name, redis, queue) and the same metric filters
    for name, job in jobs.items():
        theirs = compose_jobs[name]
        assert job.get("metric_relabel_configs") == theirs.get("metric_relabel_configs"), name
        assert job.get("metrics_path", "/metrics") == theirs.get("metrics_path", "/metrics"), name
        if "dns_sd_configs" in theirs:
            assert {"source_labels": ["__meta_dns_name"], "target_label": "service"} in job["relabel_configs"]
    # every job but Prometheus's own is found through the cluster's DNS (Debian's Prometheus has no
    # kubernetes_sd_configs): each name is a headless Service whose selector picks exactly the pods of the
    # workloads compose's job reads, with the metrics port as a port of theirs
    services, found = objects(docs, "Service"), workloads(docs)
    targets = {}
    for name, job in jobs.items():
        if name == "prometheus":
            assert job["static_configs"] == [{"targets": ["localhost:9090"]}]
            continue
        assert set(job) <= {
            "job_name",
            "metrics_path",
            "scrape_interval",
            "dns_sd_configs",
            "relabel_configs",
            "metric_relabel_configs",
        }
        if name == "patroni":  # the alerts' `for:` on Patroni's series count on compose's 10 s
            assert job["scrape_interval"] == compose_jobs[name]["scrape_interval"] == "10s"
        targets[name] = set()
        for sd in job["dns_sd_configs"]:
            assert sd["type"] == "A" and sd["refresh_interval"] == "10s", name
            for dns_name in sd["names"]:
                service = services[dns_name]["spec"]
                assert service["clusterIP"] == "None" and service["publishNotReadyAddresses"] is False, dns_name
                assert sd["port"] in {p["port"] for p in service["ports"]}, dns_name
                selected = [
                    w for w, doc in found.items() if matches({"matchLabels": service["selector"]}, pod_labels(doc))
                ]
                for workload in selected:
                    ports = [p for c in pod_spec(found[workload])["containers"] for p in c.get("ports", [])]
                    (port,) = [p for p in service["ports"] if p["port"] == sd["port"]]
                    assert any(p.get("name") == port["targetPort"] for p in ports), (dns_name, workload)
                    targets[name].add((dns_name, workload, sd["port"]))
    assert targets == {
        "django": {(name, name, 8000) for name in WEB},
        "celery": {(name, name, 9808) for name in WORKERS},
        "celery-queues": {("queue-exporter", "redis-broker", 9121)},
        "postgres": {("postgres-exporter", "postgres-exporter", 9187)},
        "pgbouncer": {("pgbouncer-exporter", "pgbouncer-exporter", 9127)},
        "redis": {("redis-cache-exporter", "redis-cache-exporter", 9121), ("queue-exporter", "redis-broker", 9121)},
        "edge-cache": {("nginx-pods", "nginx", 8082)},
        "nginx": {("nginx-exporter", "nginx-exporter", 9113)},
        "alertmanager": {("alertmanager", "alertmanager", 9093)},
        # compose's static list of every member (order-db-0:8008...): here each server's two members
        "patroni": {(f"{member.removesuffix('-replica')}-members", member, 8008) for member in SHARD_MEMBERS},
    }
    compose_patroni = {target for c in compose_jobs["patroni"]["static_configs"] for target in c["targets"]}
    assert compose_patroni == {f"{member}:8008" for member in SHARD_MEMBERS}
    # which Redis each target is: compose's static labels, from the DNS name here
    redis = {r["regex"]: r["replacement"] for r in jobs["redis"]["relabel_configs"] if r["target_label"] == "redis"}
    assert redis == {"redis-cache-exporter": "redis-cache", "queue-exporter": "redis-broker"}
    # Prometheus needs no API access any more
    assert pod_spec(found["prometheus"]).get("automountServiceAccountToken") is False
    assert "prometheus" not in objects(docs, "Role") and "prometheus" not in objects(docs, "ServiceAccount")
    assert jobs["edge-cache"]["metrics_path"] == "/edge-metrics"


def test_prometheus_own_promtool_accepts_the_kubernetes_config():
    """The config is one the image's Prometheus (Debian's 2.42, no kubernetes_sd) loads, rules included.

    Docker with no network and the file read-only; the image is compose's, which the integration suite
    builds (`make up`) before it runs this.
    """
    image = f"{os.environ.get('IMAGE_PREFIX', 'scaling-django')}/prometheus"
    inspect = subprocess.run(["docker", "image", "inspect", image], capture_output=True, check=False)
    assert inspect.returncode == 0, f"{image} is not built (make images)"
    config = ROOT / "deploy/k8s/base/prometheus.yml"
    result = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", "-v", f"{config}:/tmp/p.yml:ro"]
        + ["--entrypoint", "promtool", image, "check", "config", "/tmp/p.yml"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "SUCCESS: /tmp/p.yml is valid prometheus config file syntax" in output, output
    assert "SUCCESS: 2 rule files found" in output, output


def test_pod_disruption_budgets_and_anti_affinity_in_production_only():
    production = rendered("production")
    budgets = objects(production, "PodDisruptionBudget")
    for name, doc in workloads(production).items():
        replicas = doc["spec"].get("replicas", 1)
        if doc["kind"] == "Deployment" and replicas > 1:
            covering = [b for b in budgets.values() if matches(b["spec"]["selector"], pod_labels(doc))]
            assert len(covering) == 1, f"{name}: {len(covering)} PodDisruptionBudgets"
            assert covering[0]["spec"].get("maxUnavailable", 0) < replicas
            assert pod_spec(doc)["affinity"]["podAntiAffinity"], name
    for name in ("user-db-0", "user-db-0-replica"):
        terms = pod_spec(workloads(production)[name])["affinity"]["podAntiAffinity"]
        keys = [
            t["podAffinityTerm"].get("matchLabelKeys") for t in terms["preferredDuringSchedulingIgnoredDuringExecution"]
        ]
        assert ["scaling-django/shard"] in keys, name
    # the two members of a shard server (a StatefulSet each): one budget over both, one member at a time
    for server in {member.removesuffix("-replica") for member in SHARD_MEMBERS}:
        members = [workloads(production)[name] for name in (server, f"{server}-replica")]
        covering = [b for b in budgets.values() if all(matches(b["spec"]["selector"], pod_labels(m)) for m in members)]
        assert [b["spec"]["maxUnavailable"] for b in covering] == [1], server
    for overlay in ("base", "dev"):
        docs = rendered(overlay)
        assert not objects(docs, "PodDisruptionBudget")
        assert not any("affinity" in pod_spec(doc) for doc in workloads(docs).values())


def test_vertical_pod_autoscalers_for_the_workers_in_production_only():
    vpas = objects(rendered("production"), "VerticalPodAutoscaler")
    assert set(vpas) == set(WORKERS)
    for name, vpa in vpas.items():
        assert vpa["spec"]["targetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        (policy,) = vpa["spec"]["resourcePolicy"]["containerPolicies"]
        assert policy["containerName"] == "django" and policy["controlledResources"] == ["cpu", "memory"]
    for overlay in ("base", "dev"):
        assert not objects(rendered(overlay), "VerticalPodAutoscaler")


def _allowed_sources(policies: list[dict], labels: dict, port: int) -> list[dict]:
    """The `from` entries of every policy that selects a pod with `labels` and lets in `port`."""
    sources = []
    for policy in policies:
        if not matches(policy["spec"]["podSelector"], labels):
            continue
        for rule in policy["spec"].get("ingress", []):
            if rule.get("ports") and port not in {p["port"] for p in rule["ports"]}:
                continue
            sources += rule.get("from", [{}])  # no `from`: from anywhere
    return sources


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_mirror_the_tiers(overlay):
    docs = rendered(overlay)
    policies = list(objects(docs, "NetworkPolicy").values())
    found = workloads(docs)
    deny = [p for p in policies if p["spec"]["podSelector"] == {} and not p["spec"].get("ingress")]
    assert deny and deny[0]["spec"]["policyTypes"] == ["Ingress"]
    tiers = {p["metadata"].get("labels", {}).get("scaling-django/tier") for p in policies} - {None}
    assert {"edge", "application", "data", "broker-cache", "monitoring"} <= tiers
    # every port a long-running pod listens on is open to someone
    for name, doc in found.items():
        if doc["kind"] == "Job":
            continue
        for container in pod_spec(doc)["containers"]:
            for port in container.get("ports", []):
                assert _allowed_sources(policies, pod_labels(doc), port["containerPort"]), (
                    f"{name}:{port['containerPort']}"
                )

    def sources(name, port):
        return [s.get("podSelector") for s in _allowed_sources(policies, pod_labels(found[name]), port)]

    # edge: anyone reaches nginx; only nginx (and Prometheus) the gateway
    assert None in sources("nginx", 80)
    assert sources("gateway", 8000) == [{"matchLabels": {"app.kubernetes.io/name": n}} for n in ("nginx", "prometheus")]
    # data: PgBouncer and the shard servers only from pods of the same service, and from their exporter
    for svc in SERVICES:
        for name, port, exporter in (
            (f"{svc}-pgbouncer", 6432, "pgbouncer-exporter"),
            (f"{svc}-db-0", 5432, "postgres-exporter"),
            (f"{svc}-db-1-replica", 5432, "postgres-exporter"),
        ):
            assert {"matchLabels": {"app.kubernetes.io/name": exporter}} in sources(name, port), name
            for selector in sources(name, port):
                if selector == {"matchLabels": {"app.kubernetes.io/name": exporter}}:
                    continue
                assert selector and selector["matchLabels"]["scaling-django/service"] == svc, (name, selector)
        # Patroni's REST API: the members of the service's shard servers (a member asks the other's state
        # before it takes the leader key) and Prometheus, nobody else
        members = [pod_labels(found[name]) for name in SHARD_MEMBERS if name.startswith(f"{svc}-")]
        for name in (f"{svc}-db-0", f"{svc}-db-1-replica"):
            allowed = sources(name, 8008)
            assert {"matchLabels": {"app.kubernetes.io/name": "prometheus"}} in allowed, name
            assert all(any(matches(s, labels) for s in allowed) for labels in members), name
            for selector in allowed:
                if selector != {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}:
                    assert selector["matchLabels"] == {
                        "scaling-django/service": svc,
                        "app.kubernetes.io/component": "shard-server",
                    }, (name, selector)
            assert not any(matches(s, pod_labels(found[f"{svc}-pgbouncer"])) for s in allowed), name
        app = pod_labels(found[svc])
        assert any(matches(s, app) for s in sources(f"{svc}-pgbouncer", 6432))
        assert not any(matches(s, app) for s in sources(f"{svc}-db-0", 5432)), (
            "apps reach Postgres only through PgBouncer"
        )
        other = pod_labels(found[next(o for o in SERVICES if o != svc)])
        assert not any(matches(s, other) for s in sources(f"{svc}-pgbouncer", 6432))
    # broker/cache: Redis only from Django pods (and redis-cache from its exporter)
    application = {"matchLabels": {"scaling-django/tier": "application"}}
    assert sources("redis-broker", 6379) == [application]
    cache_exporter = {"matchLabels": {"app.kubernetes.io/name": "redis-cache-exporter"}}
    assert sources("redis-cache", 6379) == [application, cache_exporter]
    # monitoring: Prometheus reaches every worker's metrics, the exporters, Alertmanager and nginx's
    # status port; nginx-exporter reads that port too; nobody else reaches any of them
    prometheus = {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}
    for name, port in (
        *((worker, 9808) for worker in WORKERS),
        ("pgbouncer-exporter", 9127),
        ("redis-cache-exporter", 9121),
        ("nginx-exporter", 9113),
        ("postgres-exporter", 9187),
        ("alertmanager", 9093),
    ):
        assert sources(name, port) == [prometheus], name
    assert sources("nginx", 8082) == [{"matchLabels": {"app.kubernetes.io/name": "nginx-exporter"}}, prometheus]
    django_pods = [d for d in found.values() if d["spec"]["template"]["spec"]["containers"][0]["name"] == "django"]
    assert all(pod_labels(d)["scaling-django/tier"] == "application" for d in django_pods)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_patronis_kubernetes_store_matches_the_manifests(overlay):
    """What deploy/postgres/patroni.sh's store() tells Patroni (labels, scope and role labels, Endpoints,
    ports) agrees with the pods, Services and RBAC here."""
    store = patroni_kubernetes_store()
    docs = rendered(overlay)
    found, services = workloads(docs), objects(docs, "Service")
    scope_label, role_label = store["scope_label"], store["role_label"]
    servers = sorted({member.removesuffix("-replica") for member in SHARD_MEMBERS})
    for server in servers:
        for member in (server, f"{server}-replica"):
            labels = pod_labels(found[member])
            # Patroni lists a server's members by its labels and the scope label, which is the server's name
            assert store["labels"].items() <= labels.items(), member
            assert labels[scope_label] == server and role_label not in labels, member
        # exactly the two members carry the server's scope label (Patroni counts every such pod a member)
        assert [n for n, d in found.items() if pod_labels(d).get(scope_label) == server] == [
            server,
            f"{server}-replica",
        ]
        # the leader: no selector, so that the Endpoints Patroni writes (the server's name, its ports) are its own
        leader = services[server]["spec"]
        assert "selector" not in leader and leader.get("clusterIP") != "None", server
        assert [{"name": p["name"], "port": p["port"]} for p in leader["ports"]] == store["ports"], server
        # the standby: the member Patroni labels replica
        standby = services[f"{server}-standby"]["spec"]
        assert standby["selector"] == {scope_label: server, role_label: "replica"}, server
        assert [p["port"] for p in standby["ports"]] == [5432], server
        # the members' headless Service governs both StatefulSets; Patroni's own objects are not declared
        # (it makes the Endpoints <server>, <server>-config, -sync, -failover and the Service <server>-config)
        assert services[f"{server}-members"]["spec"]["selector"] == {scope_label: server}, server
        for suffix in ("-config", "-sync", "-failover"):
            assert f"{server}{suffix}" not in services, server
    assert not [d for d in docs if d["kind"] == "Endpoints"]
    # no Service carries the scope label: Kubernetes labels a Service's Endpoints like the Service, and
    # Patroni would count those among its server's objects
    assert not [n for n, svc in services.items() if scope_label in (svc["metadata"].get("labels") or {})]
    # no Service but a leader's goes without selector (Kubernetes would never give it endpoints)
    assert sorted(n for n, svc in services.items() if not svc["spec"].get("selector")) == servers
    # RBAC: what Patroni does with use_endpoints, in this namespace only, bound to the members' account
    (account,) = {pod_spec(found[member])["serviceAccountName"] for member in SHARD_MEMBERS}
    assert account in objects(docs, "ServiceAccount")
    rules = {
        resource: set(rule["verbs"])
        for rule in objects(docs, "Role")[account]["rules"]
        for resource in rule["resources"]
        if rule["apiGroups"] == [""]
    }
    assert {"get", "list", "watch", "create", "patch"} <= rules["endpoints"]
    assert {"get", "list", "watch", "patch"} <= rules["pods"] and not {"create", "delete"} & rules["pods"]
    assert rules["services"] == {"create"} and set(rules) == {"endpoints", "pods", "services"}
    binding = objects(docs, "RoleBinding")[account]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": account}
    (namespace,) = {doc["metadata"]["namespace"] for doc in found.values()}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account, "namespace": namespace}]
    assert not objects(docs, "ClusterRoleBinding").get(account)
    # only the members get a token for the API
    for name, doc in found.items():
        if name not in SHARD_MEMBERS and name != "prometheus-adapter":
            assert pod_spec(doc).get("automountServiceAccountToken") is False, name
            assert pod_spec(doc).get("serviceAccountName", "default") != account, name


def test_jobs_migrate_and_seed_like_compose_and_make_seed():
    docs = rendered("base")
    jobs, deployments = objects(docs, "Job"), objects(docs, "Deployment")
    assert set(jobs) == {*(f"{svc}-migrate" for svc in SERVICES), "seed-admin", "seed-catalog"}
    for name, args, service in (("seed-admin", "seed_admin", "user"), ("seed-catalog", "seed_catalog", "product")):
        job = pod_spec(jobs[name])["containers"][0]
        web = pod_spec(deployments[service])["containers"][0]
        assert job["args"] == ["python", "manage.py", args] and job["image"] == web["image"]
        assert [e["name"] for e in job["env"]] == [e["name"] for e in web["env"]]
        assert job["envFrom"] == web["envFrom"]
    for job in jobs.values():
        assert pod_spec(job)["restartPolicy"] == "OnFailure" and job["spec"]["backoffLimit"] > 0


def test_only_the_process_that_signs_tokens_gets_the_jwt_private_key():
    holders = set()
    for name, doc in workloads(rendered("base")).items():
        items = [
            item["key"]
            for volume in pod_spec(doc).get("volumes", [])
            for item in volume.get("secret", {}).get("items", [])
            if volume["secret"]["secretName"].startswith("jwt-keys")
        ]
        if "jwt_private.pem" in items:
            holders.add(name)
    assert holders == {"user"}  # the user web pods (login, refresh); not its worker, not the seed Job


def test_images_are_the_compose_ones_and_retaggable(compose):
    kustomization = yaml.safe_load((ROOT / "deploy/k8s/base/kustomization.yaml").read_text())
    retaggable = {entry["name"] for entry in kustomization["images"]}
    for doc in workloads(rendered("base")).values():
        spec = pod_spec(doc)
        for container in [*spec.get("initContainers", []), *spec["containers"]]:
            name = container["image"].rsplit(":", 1)[0]
            if name.startswith("scaling-django/"):
                assert name in retaggable, name
                assert container["imagePullPolicy"] == "IfNotPresent"  # images loaded into kind/k3s by hand
    assert {
        s["image"].rsplit(":", 1)[0]
        for n, s in compose.items()
        if s["image"] and n not in COMPOSE_ONLY and n not in NOT_IN_K8S
    } <= retaggable


def test_no_secret_is_committed():
    tracked = subprocess.run(
        ["git", "ls-files", "deploy/k8s/base/secrets"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert tracked in ([], ["deploy/k8s/base/secrets/.gitignore"])
    ignore = (ROOT / "deploy/k8s/base/secrets/.gitignore").read_text().split()
    assert ignore[-2:] == ["*", "!.gitignore"] or ("*" in ignore and "!.gitignore" in ignore)
    for secret in objects(rendered("base"), "Secret").values():
        generated = {"django-secrets", "db-credentials", "redis-credentials", "edge-purge", "jwt-keys"}
        assert secret["metadata"]["name"].rsplit("-", 1)[0] in generated


def _selected(docs: list[dict], selector: dict) -> set[tuple[str, str]]:
    return {(d["kind"], d["metadata"]["name"]) for d in docs if matches(selector, d["metadata"].get("labels") or {})}


@pytest.mark.parametrize("overlay", ("dev", "production"))
def test_the_readmes_apply_order_covers_everything_in_order(overlay):
    """README, Kubernetes: config -> data tier -> migrate Jobs -> apps -> the rest (HPAs), by label."""
    docs = rendered(overlay)
    tier = "scaling-django/tier"
    stages = [
        {
            "matchExpressions": [
                {"key": tier, "operator": "DoesNotExist"},
                {"key": "app.kubernetes.io/name", "operator": "DoesNotExist"},
            ]
        },
        {"matchExpressions": [{"key": tier, "operator": "In", "values": ["data", "broker-cache"]}]},
        {"matchLabels": {"app.kubernetes.io/component": "migrate"}},
        {"matchExpressions": [{"key": tier, "operator": "In", "values": ["edge", "application", "monitoring"]}]},
    ]
    applied: set[tuple[str, str]] = set()
    order = {}
    for number, selector in enumerate(stages):
        for item in _selected(docs, selector) - applied:
            order[item] = number
        applied |= _selected(docs, selector)
    for doc in docs:
        order.setdefault((doc["kind"], doc["metadata"]["name"]), len(stages))
    kinds = defaultdict(set)
    for (kind, _), number in order.items():
        kinds[kind].add(number)
    assert kinds["Namespace"] == kinds["Secret"] == {0}
    assert kinds["HorizontalPodAutoscaler"] == {len(stages)}
    for (kind, name), number in order.items():
        if kind == "Job":
            assert number == (2 if name.endswith("-migrate") else 3), name
        if kind == "Deployment":
            assert number == (1 if name.endswith("-pgbouncer") else 3), name
        if kind == "StatefulSet":
            assert number == (3 if name in ("prometheus", "alertmanager") else 1), name
    # a Service is applied with the pods it selects (without the role label Patroni sets at run time; a
    # shard server's leader Service, without selector, with its members), a workload after the ConfigMaps
    # it reads; Patroni's ServiceAccount and Role with the configuration, before any member
    pods = {doc["metadata"]["name"]: doc for doc in docs if pod_spec(doc) is not None}
    role_label = patroni_kubernetes_store()["role_label"]
    for doc in docs:
        if doc["kind"] == "Service":
            name = doc["metadata"]["name"]
            selector = {k: v for k, v in (doc["spec"].get("selector") or {}).items() if k != role_label}
            if selector:
                selected = [n for n, p in pods.items() if matches({"matchLabels": selector}, pod_labels(p))]
            else:
                selected = [n for n in SHARD_MEMBERS if n.removesuffix("-replica") == name]
            assert selected and all(order[("Service", name)] <= order[(pods[n]["kind"], n)] for n in selected), name
    for kind in ("ServiceAccount", "Role", "RoleBinding"):
        assert order[(kind, "patroni")] == 0, kind
    for (kind, name), number in order.items():
        if kind == "ConfigMap":
            users = [n for n, p in pods.items() if name in yaml.safe_dump(pod_spec(p))]
            assert all(number <= order[(pods[n]["kind"], n)] for n in users), name
