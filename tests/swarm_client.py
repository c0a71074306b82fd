"""A client of the Swarm stack that runs inside its overlay network (tests/test_swarm.py).

The stack publishes no port (the routing mesh cannot bind 127.0.0.1), so the test runs this file in a
container attached to `<stack>_edge` with one of the platform's images; standard library only.
Each command prints one JSON object on stdout:

    saga                 /health/, register, login, place an order, poll it until it is confirmed
    spread ID N          N uncached GETs of product ID: responses counted per X-Served-By
    load ID SECONDS      steady uncached GETs of product ID (RATE per second) until SIGTERM or SECONDS
"""

from __future__ import annotations

import collections
import json
import signal
import sys
import time
import urllib.error
import urllib.request
import uuid

BASE = "http://nginx"
RATE = 20  # requests per second of `load`: under nginx's per-address API limit (50/s)


def call(method: str, path: str, body: dict | None = None, token: str | None = None, timeout: float = 10):
    """(status, headers, JSON body or None); a transport error is status 0."""
    request = urllib.request.Request(
        BASE + path, method=method, data=None if body is None else json.dumps(body).encode()
    )
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.headers, None
    except (OSError, ValueError) as error:
        return 0, {}, {"error": repr(error)}


def uncached_get(product_id: str):
    # a fresh query string is a new edge-cache key: every GET reaches a product task
    return call("GET", f"/api/products/{product_id}/?probe={uuid.uuid4().hex}")


def saga() -> dict:
    started = time.monotonic()
    health, _, body = call("GET", "/health/")
    result = {"health": health, "health_status": (body or {}).get("status")}
    email, password = f"swarm-{uuid.uuid4().hex[:12]}@example.com", "Swarm-Passw0rd!"
    result["register"] = call("POST", "/api/auth/register/", {"email": email, "password": password, "name": "S"})[0]
    status, _, tokens = call("POST", "/api/auth/login/", {"email": email, "password": password})
    result["login"] = status
    catalog = call("GET", "/api/products/?page_size=20")[2] or {"results": []}
    product = next(p for p in catalog["results"] if p.get("stock", 0) > 0)
    result["product_id"] = product["id"]
    items = [{"product_id": product["id"], "quantity": 1}]
    status, _, order = call("POST", "/api/orders/", {"items": items}, token=(tokens or {}).get("access"))
    result["order"], result["order_status"] = status, (order or {}).get("status")
    deadline = time.monotonic() + 60
    while status == 202 and time.monotonic() < deadline:
        current = call("GET", f"/api/orders/{order['id']}/", token=tokens["access"])[2] or {}
        result["order_status"] = current.get("status")
        if result["order_status"] != "pending":
            break
        time.sleep(0.5)
    result["seconds"] = round(time.monotonic() - started, 2)
    return result


def spread(product_id: str, count: int) -> dict:
    served, statuses = collections.Counter(), collections.Counter()
    for _ in range(count):
        status, headers, _ = uncached_get(product_id)
        statuses[status] += 1
        served[headers.get("X-Served-By", "-")] += 1
        time.sleep(1 / RATE)
    return {"statuses": statuses, "served_by": served}


def load(product_id: str, seconds: float) -> dict:
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    sent, failures, served = 0, [], collections.Counter()
    started = time.monotonic()
    while not stop and time.monotonic() - started < seconds:
        status, headers, body = uncached_get(product_id)
        sent += 1
        if status != 200:
            failures.append({"at": round(time.monotonic() - started, 2), "status": status, "body": body})
        served[headers.get("X-Served-By", "-")] += 1
        time.sleep(1 / RATE)
    return {
        "sent": sent,
        "failed": len(failures),
        "failures": failures[:10],
        "served_by": served,
        "seconds": round(time.monotonic() - started, 1),
    }


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "saga":
        out = saga()
    elif command == "spread":
        out = spread(args[0], int(args[1]))
    else:
        out = load(args[0], float(args[1]))
    print(json.dumps(out), flush=True)
