"""The scaling decision, with no I/O: the seed's rule, bounded the way Kubernetes' HPA bounds it.

The seed (000, `ScalingMetricsCollector`): scale up when at least two of the "high" conditions hold,
down only when every "low" condition holds. A condition compares one signal with a threshold; a signal
with no value (nothing measured: no traffic, no exporter) never counts as high and always as low.

Around the rule, the HPA's `behavior` (autoscaling/v2), with its semantics:
- a proposal is made every loop: current + 1 step up, current - 1 step down, or current;
- stabilization windows: the replicas used are the lowest proposal of the scale-up window when going
  up (scale up only on a signal that lasted) and the highest of the scale-down window when going down;
- policies limit the change per period, from the replicas at the start of the period: Percent and Pods,
  `select` Max (the policy allowing the most change) or Min (the least);
- min and max replicas; a pinned service (a human said `make scale`) is left alone.
"""

from __future__ import annotations

import math
import operator
from collections import deque
from dataclasses import dataclass, field

_COMPARE = {">": operator.gt, "<": operator.lt, ">=": operator.ge, "<=": operator.le}


@dataclass(frozen=True)
class Condition:
    signal: str
    op: str
    threshold: float

    def holds(self, signals: dict[str, float | None], *, missing: bool) -> bool:
        value = signals.get(self.signal)
        if value is None or math.isnan(value):
            return missing
        return _COMPARE[self.op](value, self.threshold)

    def __str__(self) -> str:
        return f"{self.signal} {self.op} {self.threshold:g}"


@dataclass(frozen=True)
class Policy:
    kind: str  # "Percent" or "Pods"
    value: int
    period_seconds: float


@dataclass(frozen=True)
class Direction:
    stabilization_seconds: float
    policies: tuple[Policy, ...]
    select: str = "Max"  # the policy that allows the most change ("Max") or the least ("Min")


@dataclass(frozen=True)
class ServicePolicy:
    service: str
    min_replicas: int
    max_replicas: int
    up_when: tuple[Condition, ...]  # scale up when at least `up_needs` of these hold
    down_when: tuple[Condition, ...]  # scale down only when all of these hold
    up: Direction
    down: Direction
    up_needs: int = 2


@dataclass
class Decision:
    service: str
    current: int
    desired: int
    reasons: list[str]

    @property
    def action(self) -> str:
        return "up" if self.desired > self.current else "down" if self.desired < self.current else "hold"


@dataclass
class ServiceState:
    """What the decision remembers about one service: its recent proposals and changes."""

    proposals: deque = field(default_factory=deque)  # (time, replicas proposed)
    changes: deque = field(default_factory=deque)  # (time, replicas added (+) or removed (-))

    @classmethod
    def starting(cls, now: float, current: int) -> ServiceState:
        """A service first seen now: as if `current` had been proposed, so each window must pass first."""
        return cls(proposals=deque([(now, current)]))

    def record_change(self, now: float, delta: int) -> None:
        if delta:
            self.changes.append((now, delta))


def _period_start(state: ServiceState, current: int, policy: Policy, now: float, *, up: bool) -> int:
    """Replicas at the start of the policy's period: what the changes inside the period began from."""
    recent = [delta for at, delta in state.changes if now - at < policy.period_seconds]
    if up:
        return current - sum(d for d in recent if d > 0)
    return current - sum(d for d in recent if d < 0)


def _limit(state: ServiceState, current: int, direction: Direction, now: float, *, up: bool) -> int:
    """The most (up) or fewest (down) replicas the direction's policies allow now."""
    proposed = []
    for policy in direction.policies:  # as the HPA computes them (a percent of 1 or more replicas is 1 or more)
        start = _period_start(state, current, policy, now, up=up)
        if policy.kind == "Percent":
            factor = 1 + policy.value / 100 if up else 1 - policy.value / 100
            proposed.append(math.ceil(start * factor) if up else int(start * factor))
        else:
            proposed.append(start + policy.value if up else start - policy.value)
    most_change = max if up else min
    least_change = min if up else max
    return (most_change if direction.select == "Max" else least_change)(proposed)


def decide(
    policy: ServicePolicy, state: ServiceState, current: int, signals: dict[str, float | None], now: float
) -> Decision:
    """The replicas `policy.service` should run now, and why."""
    high = [str(c) for c in policy.up_when if c.holds(signals, missing=False)]
    all_low = all(c.holds(signals, missing=True) for c in policy.down_when)
    if len(high) >= policy.up_needs:
        proposal, reasons = current + 1, [f"up: {len(high)} of {len(policy.up_when)} high: {', '.join(high)}"]
    elif all_low:
        proposal, reasons = current - 1, ["down: every low condition holds"]
    else:
        proposal, reasons = current, [f"hold: {len(high)} high ({', '.join(high) or 'none'}), not all low"]
    proposal = max(policy.min_replicas, min(policy.max_replicas, proposal))

    window = max(policy.up.stabilization_seconds, policy.down.stabilization_seconds)
    state.proposals.append((now, proposal))
    while state.proposals and now - state.proposals[0][0] > window:
        state.proposals.popleft()
    horizon = max(p.period_seconds for p in (*policy.up.policies, *policy.down.policies))
    while state.changes and now - state.changes[0][0] > horizon:
        state.changes.popleft()

    desired = current
    if proposal > current:
        lasted = min(p for at, p in state.proposals if now - at <= policy.up.stabilization_seconds)
        desired = min(lasted, _limit(state, current, policy.up, now, up=True))
        if lasted <= current:
            reasons.append(f"waiting: high for less than {policy.up.stabilization_seconds:g} s")
    elif proposal < current:
        lasted = max(p for at, p in state.proposals if now - at <= policy.down.stabilization_seconds)
        desired = max(lasted, _limit(state, current, policy.down, now, up=False))
        if lasted >= current:
            reasons.append(f"waiting: low for less than {policy.down.stabilization_seconds:g} s")
    return Decision(policy.service, current, max(policy.min_replicas, min(policy.max_replicas, desired)), reasons)
