"""The autoscaler: every `interval_seconds`, for each service of the policy file, read its signals, decide
(policy.py) and add or remove replicas through the Docker Engine API (docker_api.py).

    python3 -m autoscaler run              # the loop (the container's command)
    python3 -m autoscaler pin SERVICE N    # a human scaled SERVICE to N (`make scale`): leave it alone
    python3 -m autoscaler release SERVICE  # give SERVICE back to the autoscaler (`make scale-release`)

Every decision is logged with its reasons and exported on :9000/metrics. Pins are kept in a file in
the autoscaler's volume, so they survive its restarts.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path

from prometheus_client import Counter, Gauge, start_http_server

from autoscaler import config, signals
from autoscaler.docker_api import Docker, DockerError
from autoscaler.policy import ServiceState, decide

logger = logging.getLogger("autoscaler")
POLICY = Path(os.environ.get("AUTOSCALER_POLICY", "/etc/autoscaler/policy.yml"))
PINS = Path(os.environ.get("AUTOSCALER_PINS", "/state/pins.json"))

REPLICAS = Gauge("autoscaler_replicas", "running replicas of the service", ["service"])
DESIRED = Gauge("autoscaler_desired_replicas", "replicas the last decision asked for", ["service"])
SIGNAL = Gauge("autoscaler_signal", "the signals of the last decision", ["service", "signal"])
PINNED = Gauge("autoscaler_pinned", "1 while a human's `make scale` holds the service", ["service"])
DECISIONS = Counter("autoscaler_decisions_total", "decisions by action (up, down, hold, pinned)", ["service", "action"])
FAILURES = Counter("autoscaler_scale_failures_total", "scaling calls that failed", ["service"])


def _pins() -> dict[str, int]:
    try:
        return {k: int(v) for k, v in json.loads(PINS.read_text()).items()}
    except FileNotFoundError:
        return {}


def _write_pins(pins: dict[str, int]) -> None:
    PINS.parent.mkdir(parents=True, exist_ok=True)
    temporary = PINS.with_suffix(".tmp")
    temporary.write_text(json.dumps(pins))
    temporary.replace(PINS)


def _step(cfg, project, docker, prometheus, usage, states, name, policy) -> None:
    replicas = docker.replicas(project, name)
    if not replicas:
        return  # not running in this stack (e.g. a profile that is off)
    current = len(replicas)
    REPLICAS.labels(name).set(current)
    # the signals are measured and exported for a pinned service too (the ops page and the recording
    # rules show them); only the decision is left to the human who pinned it
    used = {c.signal for c in (*policy.up_when, *policy.down_when)}
    queries = {k: q for k, q in cfg.queries.items() if k in {signal.removesuffix("_per_replica") for signal in used}}
    labels = {"service": name, **cfg.labels[name]}
    values = signals.read(labels, queries, replicas, prometheus, usage.setdefault(name, signals.ContainerUsage(docker)))
    values = {signal: value for signal, value in values.items() if signal in used or signal in signals.FROM_DOCKER}
    for signal, value in values.items():
        if value is not None:
            SIGNAL.labels(name, signal).set(value)
    pinned = _pins().get(name)
    PINNED.labels(name).set(1 if pinned is not None else 0)
    if pinned is not None:
        states.pop(name, None)  # when released, its windows start again
        DECISIONS.labels(name, "pinned").inc()
        logger.info("%s: %d replicas, pinned by a human at %d", name, current, pinned)
        return
    now = time.monotonic()
    state = states.setdefault(name, ServiceState.starting(now, current))
    decision = decide(policy, state, current, values, now)
    DESIRED.labels(name).set(decision.desired)
    DECISIONS.labels(name, decision.action).inc()
    shown = ", ".join(f"{k}={v:.3g}" for k, v in sorted(values.items()) if v is not None)
    log = logger.info if decision.action == "hold" else logger.warning
    log("%s: %d -> %d; %s; signals: %s", name, current, decision.desired, "; ".join(decision.reasons), shown)
    try:
        for _ in range(decision.desired - current):
            logger.warning("%s: started %s", name, docker.add_replica(project, name))
            state.record_change(now, +1)
        for _ in range(current - decision.desired):
            logger.warning("%s: removed %s", name, docker.remove_replica(project, name))
            state.record_change(now, -1)
    except DockerError as exc:
        FAILURES.labels(name).inc()
        logger.error("%s: scaling failed: %s", name, exc)


def run() -> None:
    cfg = config.load(POLICY)
    docker = Docker()
    project = docker.own_project()
    prometheus = signals.Prometheus(os.environ.get("PROMETHEUS_URL", "http://prometheus:9090"))
    usage: dict[str, signals.ContainerUsage] = {}  # per service
    states: dict[str, ServiceState] = {}
    start_http_server(9000)
    logger.info("autoscaling %s of %s every %g s", ", ".join(cfg.services), project, cfg.interval_seconds)
    while True:
        started = time.monotonic()
        for name, policy in cfg.services.items():
            try:
                _step(cfg, project, docker, prometheus, usage, states, name, policy)
            except (DockerError, OSError) as exc:
                logger.error("%s: no decision: %s", name, exc)
        time.sleep(max(0.0, cfg.interval_seconds - (time.monotonic() - started)))


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    command, *args = argv or ["run"]
    if command == "run":
        run()
    elif command == "pin" and len(args) == 2 and args[1].isdigit() and int(args[1]) >= 1:
        _write_pins({**_pins(), args[0]: int(args[1])})
        print(f"{args[0]} pinned at {args[1]} replicas: the autoscaler leaves it alone until released")
    elif command == "release" and len(args) == 1:
        _write_pins({k: v for k, v in _pins().items() if k != args[0]})
        print(f"{args[0]} released: the autoscaler decides its replicas again")
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
