"""The scaling decision (autoscaler/policy.py): the seed's rule inside the HPA's windows and policies."""

from pathlib import Path

import pytest
from autoscaler import config
from autoscaler.policy import Condition, Direction, Policy, ServicePolicy, ServiceState, decide

HIGH = {"cpu_percent": 95.0, "p99_seconds": 0.4, "error_rate": 0.0, "request_rate_per_replica": 20.0}
ONE_HIGH = {**HIGH, "p99_seconds": 0.02}
LOW = {"cpu_percent": 5.0, "p99_seconds": 0.02, "error_rate": 0.0, "request_rate_per_replica": 1.0}


def _policy(**changes) -> ServicePolicy:
    fields = {
        "service": "product",
        "min_replicas": 1,
        "max_replicas": 3,
        "up_when": (
            Condition("cpu_percent", ">", 80),
            Condition("p99_seconds", ">", 0.1),
            Condition("error_rate", ">", 0.05),
            Condition("request_rate_per_replica", ">", 150),
        ),
        "down_when": (
            Condition("cpu_percent", "<", 30),
            Condition("p99_seconds", "<", 0.1),
            Condition("error_rate", "<", 0.01),
        ),
        "up": Direction(15, (Policy("Percent", 50, 60), Policy("Pods", 2, 60)), "Max"),
        "down": Direction(45, (Policy("Percent", 10, 60), Policy("Pods", 1, 30)), "Min"),
    }
    return ServicePolicy(**{**fields, **changes})


def _run(policy, signals_by_time, current, start=0.0):
    """Decide every 5 s from `start` with the signals given per time; apply each decision at once."""
    state, seen = ServiceState.starting(start, current), []
    for at, signals in signals_by_time:
        decision = decide(policy, state, current, signals, at)
        state.record_change(at, decision.desired - current)
        current = decision.desired
        seen.append((at, current))
    return seen


def test_two_high_conditions_scale_up_once_they_lasted_the_up_window():
    seen = _run(_policy(), [(t, HIGH) for t in range(5, 120, 5)], current=1)
    # then: 15 s of high signals pass before the first replica is added, and again before the next
    assert [c for t, c in seen if t <= 15] == [1, 1, 1]
    assert seen[3] == (20, 2)
    assert next(t for t, c in seen if c == 3) == 40
    assert max(c for _, c in seen) == 3  # never above max_replicas


def test_one_high_condition_is_not_enough():
    seen = _run(_policy(), [(t, ONE_HIGH) for t in range(5, 120, 5)], current=1)
    assert {c for _, c in seen} == {1}


def test_a_short_spike_does_not_scale():
    signals = [(5, HIGH), (10, HIGH), (15, LOW), (20, HIGH), (25, HIGH)]
    assert {c for _, c in _run(_policy(), signals, current=1)} == {1}


def test_scale_down_only_when_every_condition_is_low_for_the_down_window():
    seen = _run(_policy(), [(t, LOW) for t in range(5, 120, 5)], current=3)
    # then: 45 s of low signals first; then one replica per 30 s (Pods policy, the least change)
    assert {c for t, c in seen if t <= 45} == {3}
    first_down = next(t for t, c in seen if c == 2)
    second_down = next(t for t, c in seen if c == 1)
    assert first_down == 50 and second_down >= first_down + 30
    assert seen[-1][1] == 1  # min_replicas


def test_one_condition_not_low_holds_the_replicas():
    busy = {**LOW, "cpu_percent": 50.0}
    assert {c for _, c in _run(_policy(), [(t, busy) for t in range(5, 200, 5)], current=2)} == {2}


def test_signals_with_no_value_are_low_never_high():
    nothing = {"cpu_percent": 2.0, "p99_seconds": None, "error_rate": None, "request_rate_per_replica": None}
    seen = _run(_policy(), [(t, nothing) for t in range(5, 120, 5)], current=2)
    assert seen[-1][1] == 1
    assert {c for _, c in _run(_policy(), [(t, {"cpu_percent": 99.0}) for t in range(5, 60, 5)], current=1)} == {1}


def test_policies_bound_the_change_per_period():
    # a proposal of +1 per decision, but at most 1 pod per 60 s
    policy = _policy(max_replicas=10, up=Direction(0, (Policy("Pods", 1, 60),), "Max"))
    seen = _run(policy, [(t, HIGH) for t in range(5, 130, 5)], current=1)
    assert [t for (t, c), (_, before) in zip(seen[1:], seen, strict=False) if c > before] == [65, 125]


def test_percent_policies_are_the_hpas():
    # from 2 replicas, 10 % down allows 1 (int(2 * 0.9) = 1); 50 % up from 1 allows 1 (ceil(1.5) = 2)
    down = _policy(down=Direction(0, (Policy("Percent", 10, 60),), "Max"))
    assert _run(down, [(5, LOW)], current=2)[-1] == (5, 1)
    up = _policy(up=Direction(0, (Policy("Percent", 50, 60),), "Max"))
    assert _run(up, [(5, HIGH), (10, HIGH)], current=1) == [(5, 2), (10, 2)]


def test_the_policy_file_loads_and_refuses_mistakes(tmp_path):
    shipped = config.load(Path(__file__).resolve().parents[1] / "policy.yml")
    assert set(shipped.services) == {
        "gateway",
        "user",
        "product",
        "order",
        *(f"{s}-worker" for s in ("user", "product", "order")),
    }
    assert shipped.services["product"].up_needs == 2
    assert shipped.labels["product-worker"] == {"queue": "product"}
    broken = tmp_path / "policy.yml"
    broken.write_text(
        Path(__file__).resolve().parents[1].joinpath("policy.yml").read_text().replace("cpu_percent > 80", "cpu > 80")
    )
    with pytest.raises(ValueError, match="unknown signals"):
        config.load(broken)


def test_pin_refuses_a_replica_count_that_is_not_a_positive_number(tmp_path, monkeypatch, capsys):
    from autoscaler import __main__ as cli

    monkeypatch.setattr(cli, "PINS", tmp_path / "pins.json")
    assert cli.main(["pin", "product", "two"]) == 2
    assert cli.main(["pin", "product", "0"]) == 2
    assert not (tmp_path / "pins.json").exists()
    assert cli.main(["pin", "product", "2"]) == 0
    assert cli.main(["release", "product"]) == 0
    assert (tmp_path / "pins.json").read_text() == "{}"


def test_a_pinned_service_is_left_alone_but_its_signals_are_still_measured_and_exported(tmp_path, monkeypatch):
    """A human's pin stops decisions, not measurement: the ops page and the recording rules read a
    pinned service's CPU and memory like any other's (the suite pins every service from its start)."""
    from autoscaler import __main__ as cli
    from autoscaler import config, signals

    class Docker:
        used = 0.0
        changed = []

        def replicas(self, project, service):
            return [{"Id": f"{service}-1"}]

        def cpu_and_memory(self, container_id):
            self.used += 0.5e9  # half a core-second per 1 s loop: 50%
            return self.used, 100.0, 400.0

        def add_replica(self, project, service):
            self.changed.append(service)

        remove_replica = add_replica

    class Prometheus:
        def value(self, query):
            return None

    clock = iter([100.0, 101.0])  # one reading of the clock per loop: 1 s apart
    monkeypatch.setattr(signals.time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(cli, "PINS", tmp_path / "pins.json")
    assert cli.main(["pin", "product", "1"]) == 0
    cfg = config.load(Path(__file__).resolve().parents[1] / "policy.yml")
    docker, usage, states = Docker(), {}, {}
    for _ in range(2):
        cli._step(cfg, "p", docker, Prometheus(), usage, states, "product", cfg.services["product"])
    assert cli.SIGNAL.labels("product", "cpu_percent")._value.get() == 50.0
    assert cli.SIGNAL.labels("product", "memory_percent")._value.get() == 25.0
    assert cli.PINNED.labels("product")._value.get() == 1
    assert docker.changed == [] and "product" not in states
