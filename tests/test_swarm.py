"""Smoke test of the platform on Docker Swarm (`make swarm-test`, part of `make test`).

The module deploys the stack rendered from the compose definitions (`deploy/swarm/swarm.sh up`: swarm
init when needed, render, deploy, wait until converged, seed) under SWARM_STACK (default
`${IMAGE_PREFIX}-swarm`, beside a running compose stack) and removes it with its volumes at the end.
Nothing is published (the routing mesh cannot bind 127.0.0.1): requests come from a container on the
stack's attachable overlay network running tests/swarm_client.py. What it proves, in order:

1. the stack converges; `/health/` is healthy; register, login, order, and the order becomes confirmed
   (the saga through both brokers' queues);
2. no service publishes a port and no secret is in a service's environment (only `*_FILE` paths);
3. `docker service scale <stack>_product=3` spreads uncached reads over the 3 tasks;
4. a rolling update of product (a changed environment variable) completes, start-first, with 0 failed
   requests under a steady read load.

The figures (converge time, requests sent and failed, time of the update, spread per task) are printed
and kept in $SWARM_DIR/smoke.json. Every step has a time limit; the whole module takes about 5 minutes.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.topology  # the services on Docker Swarm (the monolith is compose only)

ROOT = Path(__file__).resolve().parents[1]
PREFIX = os.environ.get("IMAGE_PREFIX", "scaling-django")
STACK = os.environ.get("SWARM_STACK", f"{PREFIX}-swarm")
NETWORK = f"{STACK}_edge"  # nginx's tier (the stack's networks are compose's tiers)
PRODUCT = f"{STACK}_product"
CLIENT = ROOT / "tests" / "swarm_client.py"
REPORT = ROOT / os.environ.get("SWARM_DIR", ".swarm") / "smoke.json"
SECRET_VARIABLES = {"DJANGO_SECRET_KEY", "DB_PASSWORD", "APP_PASSWORD", "ADMIN_PASSWORD", "POSTGRES_PASSWORD"}
SECRET_VARIABLES |= {"REPLICATION_PASSWORD"}
figures: dict = {}


def run(*args: str, timeout: float = 120) -> str:
    env = {**os.environ, "IMAGE_PREFIX": PREFIX, "SWARM_STACK": STACK}
    result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(args)}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def client_args(*args: str) -> list[str]:
    """`docker run` of tests/swarm_client.py on the stack's network, with the gateway's image (Python 3)."""
    return [
        "--network", NETWORK, "-v", f"{CLIENT}:/tmp/swarm_client.py:ro", "--entrypoint", "python",
        f"{PREFIX}/gateway", "/tmp/swarm_client.py", *args,
    ]  # fmt: skip


def in_network(*args: str, timeout: float = 120) -> dict:
    return json.loads(run("docker", "run", "--rm", *client_args(*args), timeout=timeout).splitlines()[-1])


def inspect(service: str, template: str) -> str:
    return run("docker", "service", "inspect", service, "--format", template).strip()


def running_tasks(service: str) -> set[str]:
    """Hostnames (short container IDs) of the service's running containers: what X-Served-By names."""
    ids = run("docker", "ps", "-q", "--filter", f"label=com.docker.swarm.service.name={service}")
    return set(ids.split())


def wait_for_update(service: str, timeout: float) -> str:
    """The update's final state: completed, or what stopped it (paused, rollback_*)."""
    deadline = time.monotonic() + timeout
    while (state := inspect(service, "{{.UpdateStatus.State}}")) == "updating" and time.monotonic() < deadline:
        time.sleep(2)
    return state


@pytest.fixture(scope="module")
def stack():
    started = time.monotonic()
    out = run("bash", "deploy/swarm/swarm.sh", "up", timeout=900)
    converged = re.search(r"converged in (\d+) s", out)
    assert converged, out
    figures.update(converge_seconds=int(converged.group(1)), up_seconds=round(time.monotonic() - started))
    try:
        yield
    finally:
        run("bash", "deploy/swarm/swarm.sh", "down", "--volumes", timeout=300)
        REPORT.parent.mkdir(exist_ok=True)
        REPORT.write_text(json.dumps(figures, indent=2) + "\n")
        print(f"\nSwarm smoke figures: {json.dumps(figures, indent=2)}")


@pytest.fixture(scope="module")
def product_id(stack) -> str:
    return saga_result()["product_id"]


_saga: dict = {}


def saga_result() -> dict:
    if not _saga:
        _saga.update(in_network("saga"))
    return _saga


def test_the_stack_converges_and_serves_the_order_saga(stack):
    result = saga_result()
    figures["saga"] = result
    assert (result["health"], result["health_status"]) == (200, "healthy"), result
    assert (result["register"], result["login"], result["order"]) == (201, 200, 202), result
    assert result["order_status"] == "confirmed", result


def test_nothing_is_published_and_no_secret_is_in_an_environment(stack):
    services = run("docker", "stack", "services", STACK, "--format", "{{.Name}}").split()
    assert len(services) >= 29
    for service in services:
        assert inspect(service, "{{json .Endpoint.Ports}}") in ("null", "[]"), service
        env = json.loads(inspect(service, "{{json .Spec.TaskTemplate.ContainerSpec.Env}}") or "null") or []
        names = {item.split("=", 1)[0] for item in env}
        assert not names & SECRET_VARIABLES, service
    product_env = inspect(PRODUCT, "{{json .Spec.TaskTemplate.ContainerSpec.Env}}")
    assert "DB_PASSWORD_FILE=/run/secrets/db_password" in product_env


def test_scaling_product_to_3_spreads_reads_over_the_3_tasks(product_id):
    started = time.monotonic()
    run("docker", "service", "scale", "--detach=false", f"{PRODUCT}=3", timeout=300)
    figures["scale_to_3_seconds"] = round(time.monotonic() - started, 1)
    tasks = running_tasks(PRODUCT)
    assert len(tasks) == 3, tasks
    # the gateway re-resolves the name every 2 s; 150 reads at 20/s
    time.sleep(3)
    result = in_network("spread", product_id, "150")
    figures["spread"] = result
    assert result["statuses"] == {"200": 150}, result
    assert set(result["served_by"]) == tasks, result
    assert min(result["served_by"].values()) >= 0.15 * 150, result


def test_a_rolling_update_of_product_fails_no_request_under_read_load(product_id):
    before = running_tasks(PRODUCT)
    name = f"swarm-load-{uuid.uuid4().hex[:8]}"
    run("docker", "run", "-d", "--name", name, *client_args("load", product_id, "400"))
    try:
        time.sleep(3)  # the load is under way before the update starts
        started = time.monotonic()
        revision = uuid.uuid4().hex[:8]
        run(
            "docker",
            "service",
            "update",
            "--detach=false",
            "--env-add",
            f"SWARM_SMOKE_REVISION={revision}",
            PRODUCT,
            timeout=400,
        )
        figures["rolling_update_tasks_replaced_seconds"] = round(time.monotonic() - started, 1)
        # the update is `completed` once the last new task has run for update_config.monitor (30 s)
        state = wait_for_update(PRODUCT, timeout=120)
        figures["rolling_update_completed_seconds"] = round(time.monotonic() - started, 1)
        run("docker", "stop", "--time", "20", name)
        load = json.loads(run("docker", "logs", name).splitlines()[-1])
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
    figures["rolling_update_load"] = load
    assert state == "completed"
    after = running_tasks(PRODUCT)
    assert len(after) == 3 and not after & before, (before, after)
    assert revision in inspect(PRODUCT, "{{json .Spec.TaskTemplate.ContainerSpec.Env}}")
    assert load["sent"] >= 200, load
    assert load["failed"] == 0, load
    # reads were served by the old tasks and by the new ones
    assert set(load["served_by"]) & before and set(load["served_by"]) & after, (load, before, after)
