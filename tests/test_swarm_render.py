"""The Swarm stack deploy/swarm/render.py makes from compose's model: what Swarm needs that compose does
not say. Parity with compose (services, images, environment, ports, health checks, volumes, shard
topology) is tests/test_parity.py; the stack running for real is tests/test_swarm.py."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from test_parity import ROOT, SERVICES, SHARD_MEMBERS, _compose_model, swarm_render, swarm_stack

pytestmark = pytest.mark.topology  # the services' Swarm stack

WEB = ("gateway", "user", "product", "order")
ETCD = ("etcd-0", "etcd-1", "etcd-2")
# the service keys the render may write: each is a key of compose file format 3.9 (`docker stack deploy`
# refuses any other, e.g. dns_opt) that Swarm acts on (it ignores depends_on, restart, shm_size...)
STACK_SERVICE_KEYS = {
    "image",
    "command",
    "entrypoint",
    "environment",
    "networks",
    "deploy",
    "healthcheck",
    "volumes",
    "secrets",
    "stop_grace_period",
}


@pytest.fixture(scope="module")
def stack() -> dict:
    return swarm_stack()


def kinds(stack: dict) -> dict[str, str]:
    return {name: service["deploy"]["labels"]["scaling-django.kind"] for name, service in stack["services"].items()}


def test_stateless_services_roll_start_first_and_roll_back_on_failure(stack):
    for name, kind in kinds(stack).items():
        deploy = stack["services"][name]["deploy"]
        if kind == "job":
            assert deploy["mode"] == "replicated-job" and deploy["restart_policy"]["condition"] == "on-failure"
            continue
        update = deploy["update_config"]
        assert update["failure_action"] == "rollback" and update["parallelism"] == 1, name
        expected = "stop-first" if kind in swarm_render().STATEFUL else "start-first"
        assert update["order"] == deploy["rollback_config"]["order"] == expected, name
        assert deploy["restart_policy"]["condition"] == "any", name
    assert {name for name, kind in kinds(stack).items() if kind == "web"} == set(WEB)
    assert sorted(name for name, kind in kinds(stack).items() if kind == "job") == [
        "order-migrate",
        "product-migrate",
        "user-migrate",
    ]


def test_stateful_services_are_pinned_to_the_node_of_their_volume(stack):
    stateful = {name for name, kind in kinds(stack).items() if kind in swarm_render().STATEFUL}
    assert stateful == {
        *SHARD_MEMBERS,
        *ETCD,
        "redis-cache",
        "redis-broker",
        "prometheus",
    }
    labels = swarm_render().pinned(stack)
    for name in stateful:
        assert stack["services"][name]["deploy"]["placement"]["constraints"] == [
            f"node.labels.scaling-django.pin.{name}==true"
        ]
        assert f"scaling-django.pin.{name}" in labels
        # every volume a stateful service writes is a named volume of the stack (redis-cache keeps none)
        for volume in stack["services"][name].get("volumes", []):
            assert volume["type"] == "tmpfs" or volume["source"] in stack["volumes"], (name, volume)
    assert "node.labels" not in json.dumps([stack["services"][name] for name in set(stack["services"]) - stateful])


def test_every_task_has_limits_and_reservations_that_fit_on_two_cores(stack):
    reserved = 0.0
    for name, service in stack["services"].items():
        resources = service["deploy"]["resources"]
        assert set(resources["limits"]) == set(resources["reservations"]) == {"cpus", "memory"}, name
        reserved += float(resources["reservations"]["cpus"]) * (3 if name == "product" else 1)
    assert reserved <= 2.0, reserved  # with product scaled to 3, as the smoke test does


def test_secrets_are_files_and_nothing_is_published(stack):
    render = swarm_render()
    for name, service in stack["services"].items():
        assert "ports" not in service, name
        assert not [variable for variable in service["environment"] if render.secret_for(name, variable)], name
        mounted = {secret["target"] for secret in service.get("secrets", [])}
        for variable, value in service["environment"].items():
            if render.secret_for(name, variable.removesuffix("_FILE")):
                assert value.removeprefix(render.SECRETS_DIR + "/") in mounted, (name, variable)
    # the private key goes to the user web service only, as in compose
    private = [name for name, s in stack["services"].items() if "jwt_private" in json.dumps(s.get("secrets", []))]
    assert private == ["user"]
    # compose's tiers, each an attachable overlay (a container on this machine joins the edge's)
    assert set(stack["networks"]) == {"edge", "app", "data", "broker", "purge"}
    assert all(network == {"driver": "overlay", "attachable": True} for network in stack["networks"].values())
    assert stack["services"]["nginx"]["networks"] == ["edge", "purge"]


def test_a_changed_secret_value_is_a_new_swarm_secret():
    model = json.loads(_compose_model())
    keys = {"jwt_private": b"private", "jwt_public": b"public"}
    before = swarm_render().render(model, keys)[0]["secrets"]
    for service in model["services"].values():
        if "DB_PASSWORD" in service.get("environment", {}):
            service["environment"]["DB_PASSWORD"] = "another"
    with pytest.raises(ValueError, match="db_password has two values"):
        swarm_render().render(model, keys)  # APP_PASSWORD of the servers still has the old one
    for service in model["services"].values():
        if "APP_PASSWORD" in service.get("environment", {}):
            service["environment"]["APP_PASSWORD"] = "another"
    after = swarm_render().render(model, keys)[0]["secrets"]
    assert after["db_password"]["name"] != before["db_password"]["name"]
    assert {k: v for k, v in after.items() if k != "db_password"} == {
        k: v for k, v in before.items() if k != "db_password"
    }


def test_a_dollar_in_a_secret_reaches_the_file_unescaped():
    model = json.loads(_compose_model())
    for service in model["services"].values():
        for variable in ("DB_PASSWORD", "APP_PASSWORD"):
            if variable in service.get("environment", {}):
                service["environment"][variable] = "a$$b"  # compose's model escapes `$`
    secrets = swarm_render().render(model, {"jwt_private": b"k", "jwt_public": b"p"})[1]
    assert secrets["db_password"] == b"a$b"


def test_only_keys_a_stack_file_has_and_swarm_acts_on(stack):
    for name, service in stack["services"].items():
        assert set(service) <= STACK_SERVICE_KEYS, (name, set(service) - STACK_SERVICE_KEYS)
    model = json.loads(_compose_model())
    assert all("depends_on" in model["services"][name] for name in SHARD_MEMBERS)  # what was left out


def test_resolver_options_reach_swarm_as_res_options(stack):
    # compose's dns_opt (one 1 s try per lookup: a member cut off from etcd finds out in time) is no
    # stack file key; glibc reads the same options from RES_OPTIONS
    model = json.loads(_compose_model())
    options = {
        name: s["dns_opt"] for name, s in model["services"].items() if s.get("dns_opt") and name in stack["services"]
    }
    assert set(options) == set(SHARD_MEMBERS)
    for name, value in options.items():
        assert stack["services"][name]["environment"]["RES_OPTIONS"] == " ".join(value), name
    assert not [
        name
        for name in set(stack["services"]) - set(options)
        if "RES_OPTIONS" in stack["services"][name]["environment"]
    ]


def test_etcd_and_each_services_db_haproxy(stack):
    model = json.loads(_compose_model())
    found = kinds(stack)
    assert sorted(name for name, kind in found.items() if kind == "etcd") == list(ETCD)
    assert {name for name, kind in found.items() if kind == "db-haproxy"} == {f"{svc}-db-haproxy" for svc in SERVICES}
    for name in (*ETCD, *(f"{svc}-db-haproxy" for svc in SERVICES)):
        service = stack["services"][name]
        # their own checks (etcd's and HAProxy's ports listening), not the web services' /health/live/
        assert service["healthcheck"]["test"] == model["services"][name]["healthcheck"]["test"], name
        assert service["networks"] == ["data"] and "secrets" not in service, name
        assert service["environment"] == model["services"][name]["environment"], name
    # an etcd member keeps its data on its node (pinned, stop-first: test above); HAProxy keeps nothing
    assert (
        {v["source"] for name in ETCD for v in stack["services"][name]["volumes"]} == set(ETCD) <= set(stack["volumes"])
    )
    assert all(
        stack["services"][f"{svc}-db-haproxy"]["deploy"]["update_config"]["order"] == "start-first" for svc in SERVICES
    )


def test_a_shard_server_gets_its_passwords_from_swarm_secrets_before_patroni_starts(stack, tmp_path):
    # the stack gives the members files (*_FILE); deploy/postgres/entrypoint.sh exports their contents
    # (secret_env) before it execs patroni.sh, which needs the variables (as do roles.sh and the callbacks)
    entrypoint = (ROOT / "deploy/postgres/entrypoint.sh").read_text().splitlines()
    secret_line = next(i for i, line in enumerate(entrypoint) if line.startswith("secret_env "))
    patroni_line = next(i for i, line in enumerate(entrypoint) if "exec /usr/local/bin/patroni.sh" in line)
    assert secret_line < patroni_line
    exported = set(entrypoint[secret_line].split()[1:])
    for name in SHARD_MEMBERS:
        environment = stack["services"][name]["environment"]
        files = {variable.removesuffix("_FILE") for variable in environment if variable.endswith("_FILE")}
        assert files == {"POSTGRES_PASSWORD", "APP_PASSWORD", "REPLICATION_PASSWORD"} <= exported, name
        assert not files & set(environment), name
    assert '"${POSTGRES_PASSWORD:?}" "${REPLICATION_PASSWORD:?}"' in (ROOT / "deploy/postgres/patroni.sh").read_text()
    # and what secret_env sets reaches a program the shell execs
    (tmp_path / "password").write_bytes(b"pa$$ 'word")
    script = f". {ROOT}/deploy/images/secret-env.sh; secret_env POSTGRES_PASSWORD; exec printenv POSTGRES_PASSWORD"
    result = subprocess.run(
        ["bash", "-c", script],
        env={"PATH": os.environ["PATH"], "POSTGRES_PASSWORD_FILE": str(tmp_path / "password")},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout == "pa$$ 'word\n"


def test_docker_stack_config_accepts_the_stack_and_would_refuse_dns_opt(stack, tmp_path):
    # the CLI's own check of a stack file (compose file format 3.9), client side: no swarm, nothing deployed
    (tmp_path / "secrets").mkdir()
    for secret in stack["secrets"]:
        (tmp_path / "secrets" / secret).write_text("placeholder")

    def check(content: dict) -> subprocess.CompletedProcess:
        (tmp_path / "stack.json").write_text(json.dumps(content))
        command = ["docker", "stack", "config", "-c", str(tmp_path / "stack.json")]
        return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)

    result = check(stack)
    assert result.returncode == 0, result.stderr
    with_dns_opt = json.loads(json.dumps(stack))
    with_dns_opt["services"]["order-db-0"]["dns_opt"] = ["timeout:1", "attempts:1"]
    result = check(with_dns_opt)
    assert result.returncode != 0 and "dns_opt is not allowed" in result.stderr, result.stderr
