"""The scenarios of `make bench`, each with the preconditions that make its figures mean something.

Every scenario returns its load figures, CPU per request per tier, SQL statements per request and
`problems` (empty when its preconditions hold; see checks.py).
"""

from __future__ import annotations

import json
import os
import time

import checks
import load
import stack
from fixtures import BASE, Fixtures, log
from measure import measured

SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))


class Bench:
    def __init__(self, fx: Fixtures, idle: dict[str, float]) -> None:
        self.fx, self.idle = fx, idle
        self.network = f"{stack.project()}_app"  # the application tier: the gateway and the services
        self.product_path = f"/api/products/{fx.product_id}/"

    @staticmethod
    def _unique() -> dict:
        """Environment for probe.lua: query strings no earlier run used either."""
        return {"BENCH_UNIQUE": str(time.time_ns())}

    def _wrk(self, url: str, *, env: dict | None = None, connections: int = CONNECTIONS, seconds: int = SECONDS):
        return lambda: load.wrk(url, seconds=seconds, connections=connections, env=env)

    def _wrk_in(self, url: str, *, env: dict | None = None, connections: int = CONNECTIONS, seconds: int = SECONDS):
        return lambda: load.wrk_in_network(url, network=self.network, seconds=seconds, connections=connections, env=env)

    def run(self, name: str, runner, *checks_of, settle=None) -> dict:
        log(name)
        result = measured(runner, idle=self.idle, settle=settle)
        result["problems"] = [problem for check in checks_of for problem in check(result)]
        return result

    def static(self) -> dict:
        return self.run("a: a small static file from nginx", self._wrk(BASE + self.fx.static_path), checks.no_errors)

    def edge_hit(self) -> dict:
        url = BASE + self.product_path
        load.wrk(url, seconds=1, connections=1)  # make sure the entry is in the edge cache
        return self.run(
            "b: a product GET from the edge cache", self._wrk(url), checks.no_errors, checks.mostly_edge_hits
        )

    def through_edge(self, name: str = "c: a product GET through nginx and the gateway, never from the edge cache"):
        return self.run(
            name, self._wrk(BASE + self.product_path, env=self._unique()), checks.no_errors, checks.no_edge_hits
        )

    def gateway_direct(self, connections: int = CONNECTIONS, seconds: int = SECONDS) -> dict:
        url = f"http://gateway:8000{self.product_path}"
        runner = self._wrk_in(url, env=self._unique(), connections=connections, seconds=seconds)
        return self.run(
            f"g: the GET to the gateway directly ({connections} conn.)", runner, checks.no_errors, checks.edge_bypassed
        )

    def product_direct(self, connections: int = CONNECTIONS, seconds: int = SECONDS) -> dict:
        url = f"http://product:8000{self.product_path}"
        runner = self._wrk_in(url, env=self._unique(), connections=connections, seconds=seconds)
        return self.run(
            f"d: the GET to product directly ({connections} conn.)", runner, checks.no_errors, checks.edge_bypassed
        )

    @staticmethod
    def _wait_confirmed(orders: stack.OrderStatuses, result: dict, *, timeout: float = 90.0) -> None:
        """Inside the measured window: wait until every order of the run has left `pending`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and orders.now().get("pending", 0):
            time.sleep(0.5)
        result["order_statuses"] = statuses = orders.now()
        # orders, not responses: a request wrk dropped at the end of the run may still have placed one
        result["responses"], result["requests"] = result["requests"], sum(statuses.values())

    def place_orders(self) -> dict:
        env = {"BENCH_METHOD": "POST", "BENCH_TOKEN": self.fx.user_token, "BENCH_BODY": self.order_body()}
        # the psql sessions that follow the orders are opened before the measured window
        with stack.OrderStatuses(self.fx.user_id) as orders:
            if orders.now():
                raise RuntimeError("the bench user already has orders: make fresh fixtures")
            return self.run(
                "e: placing orders (checked until every one is confirmed)",
                self._wrk(f"{BASE}/api/orders/", env=env),
                checks.no_errors,
                lambda r: checks.all_confirmed(r["order_statuses"], r["requests"]),
                lambda r: [] if r["requests"] >= r["responses"] else ["fewer orders stored than answered"],
                settle=lambda result: self._wait_confirmed(orders, result),
            )

    def order_body(self) -> str:
        return json.dumps({"items": [{"product_id": self.fx.product_id, "quantity": 1}]})

    def latency_get(self, rate: float) -> dict:
        """Open loop at `rate`/s: the product GET through nginx and the gateway, new URL each time."""
        run_id = time.monotonic_ns()

        def get(pool, n):
            return pool.request("GET", f"{BASE}{self.product_path}?bench=open-{run_id}-{n}")

        log(f"latency of the GET through the gateway at a fixed {rate}/s")
        result = load.open_loop(get, rate=rate, seconds=SECONDS)
        result["problems"] = checks.no_errors(result) + checks.no_edge_hits(result) + checks.generator_kept_up(result)
        return result

    def latency_orders(self, rate: float) -> dict:
        """Open loop at `rate`/s: order placement."""
        headers = {"Authorization": f"Bearer {self.fx.user_token}", "Content-Type": "application/json"}
        body = self.order_body()

        def place(pool, n):
            return pool.request("POST", f"{BASE}/api/orders/", body=body, headers=headers)

        log(f"latency of order placement at a fixed {rate}/s")
        result = load.open_loop(place, rate=rate, seconds=SECONDS)
        result["problems"] = checks.no_errors(result) + checks.generator_kept_up(result)
        return result

    def scaled(self, replicas: int, cpus: str) -> dict:
        """The GET through the gateway with product at `replicas` replicas, each capped to `cpus` CPU."""
        stack.compose("up", "-d", "--wait", "--no-recreate", "--scale", f"product={replicas}", "product")
        for container in stack.compose("ps", "-q", "product").split():
            stack.docker("update", "--cpus", cpus, container)
        time.sleep(3)  # the gateway re-resolves Docker's DNS every 2 s
        result = self.through_edge(f"scaling: product x{replicas}, each capped to {cpus} CPU")
        result["problems"] += checks.spread_over(result, replicas)
        return result
