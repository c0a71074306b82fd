"""The Swarm stack deploy/swarm/render.py makes from compose's model: what Swarm needs that compose does
not say. Parity with compose (services, images, environment, ports, health checks, volumes, shard
topology) is tests/test_parity.py; the stack running for real is tests/test_swarm.py."""

from __future__ import annotations

import json

import pytest
from test_parity import _compose_model, swarm_render, swarm_stack

WEB = ("gateway", "user", "product", "order")


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
        *(
            f"{svc}-db-{n}{suffix}"
            for svc in ("user", "product", "order")
            for n in (0, 1)
            for suffix in ("", "-replica")
        ),
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
