"""Hostile input, sent through nginx to every write endpoint and every list/detail endpoint: a 4xx in the one
error shape, never a 500, and nothing stored.

The kinds: digits that are not ASCII digits (Arabic-Indic, fullwidth, superscript) in IDs and numbers;
control characters in text; JSON nested deep (past the services' limit, and past Python's recursion
limit); numbers beyond what a column holds; a one-value query parameter given twice.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from urllib.parse import quote

import pytest

from support import PASSWORD, Client, assert_error, login, psql, register

RUN = uuid.uuid4().hex[:8]
ARABIC_INDIC = "\u0661\u0662"  # "١٢": int() and Decimal() read it as 12
FULLWIDTH = "\uff11\uff12"  # "１２"
SUPERSCRIPT = "\u00b2"  # "²"
BEYOND_INT32 = 2**31
BEYOND_BIGINT = 2**63
_numbers = itertools.count(1)


def _nested(depth: int) -> str:
    return '{"a": ' + "[" * depth + "]" * depth + "}"


SHALLOW_ENOUGH_TO_PARSE = _nested(200)  # parses in Python; past the services' JSON_MAX_DEPTH
DEEPER_THAN_RECURSION = _nested(50_000)  # RecursionError in any json.loads


@dataclass
class Case:
    kind: str
    method: str
    path: str
    json: dict | None = None
    data: str | None = None
    params: dict = field(default_factory=dict)
    who: str = "anyone"  # anyone, user, admin
    status: int = 400

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.method} {self.path.split('?')[0][:60]}:{next(_numbers)}"


def _sku() -> str:
    return f"HOSTILE-{RUN}-{next(_numbers)}"


def _email() -> str:
    return f"hostile-{RUN}-{next(_numbers)}@example.com"


def _product(**change) -> dict:
    return {"sku": _sku(), "name": "Hostile", "category": "kitchen", "price": "1.00", "stock": 1, **change}


def _register(**change) -> dict:
    return {"email": _email(), "password": PASSWORD, "name": "Hostile", **change}


def _order(**change) -> dict:
    return {"items": [{"product_id": "{product_id}", "quantity": 1, **change}]}


# path IDs (kind, ID, status): not ASCII digits, control characters (nginx refuses an encoded NUL
# itself), beyond bigint, and as long as a URI may be (test_paths.py: longer ones are a 414)
HOSTILE_IDS = [
    ("digits", ARABIC_INDIC, 404),
    ("digits", FULLWIDTH, 404),
    ("digits", SUPERSCRIPT, 404),
    ("control", "1\x00", 400),
    ("control", "1\x01", 404),
    ("range", str(BEYOND_BIGINT), 404),
    ("range", "9" * 3900, 404),
]


def _cases() -> list[Case]:
    cases = [
        # --- digits that are not ASCII digits -----------------------------------------------------
        Case("digits", "POST", "/api/products/", json=_product(price=f"{ARABIC_INDIC}.00"), who="admin"),
        Case("digits", "POST", "/api/products/", json=_product(stock=FULLWIDTH), who="admin"),
        Case("digits", "PATCH", "/api/products/{product_id}/", json={"price": ARABIC_INDIC}, who="admin"),
        Case("digits", "PATCH", "/api/products/{product_id}/", json={"stock": SUPERSCRIPT}, who="admin"),
        Case("digits", "POST", "/api/orders/", json=_order(quantity=ARABIC_INDIC), who="user"),
        Case("digits", "POST", "/api/orders/", json={"items": [{"product_id": FULLWIDTH, "quantity": 1}]}, who="user"),
        Case("digits", "GET", "/api/products/", params={"page": ARABIC_INDIC}),
        Case("digits", "GET", "/api/products/", params={"page_size": FULLWIDTH}),
        Case("digits", "GET", "/api/products/lookup/", params={"ids": f"{ARABIC_INDIC},1"}),
        # --- control characters in text -----------------------------------------------------------
        Case("control", "POST", "/api/auth/register/", json=_register(name="Ann\x00")),
        Case("control", "POST", "/api/auth/register/", json=_register(name="Ann\x1b[2J")),
        Case("control", "POST", "/api/auth/register/", json=_register(email='"a\x01"@example.com')),
        Case("control", "POST", "/api/auth/login/", json={"email": "a@example.com", "password": "pw\x00"}),
        Case("control", "POST", "/api/auth/refresh/", json={"refresh": "token\x00"}),
        Case("control", "POST", "/api/auth/logout/", json={"refresh": "token\x7f"}),
        Case("control", "PATCH", "/api/users/me/", json={"name": "Bob\x00"}, who="user"),
        Case("control", "PATCH", "/api/users/me/", json={"password": "x\x01" + PASSWORD}, who="user"),
        Case("control", "POST", "/api/products/", json=_product(name="Lamp\x00"), who="admin"),
        Case("control", "POST", "/api/products/", json=_product(description="\x08\x08"), who="admin"),
        Case("control", "PATCH", "/api/products/{product_id}/", json={"name": "Lamp\x9b"}, who="admin"),
        Case("control", "GET", "/api/products/", params={"search": "lamp\x00"}),
        Case("control", "GET", "/api/products/", params={"category": "kitchen\x01"}),
        Case("control", "GET", "/api/products/lookup/", params={"ids": "1\x00"}),
        # --- numbers beyond what a column holds ----------------------------------------------------
        Case("range", "POST", "/api/products/", json=_product(stock=BEYOND_INT32), who="admin"),
        Case("range", "POST", "/api/products/", json=_product(price="100000000.00"), who="admin"),
        Case("range", "POST", "/api/products/", json=_product(price="1e400"), who="admin"),
        Case("range", "PATCH", "/api/products/{product_id}/", json={"stock": BEYOND_INT32}, who="admin"),
        Case("range", "POST", "/api/orders/", json=_order(quantity=BEYOND_INT32), who="user"),
        Case(
            "range", "POST", "/api/orders/", json={"items": [{"product_id": BEYOND_BIGINT, "quantity": 1}]}, who="user"
        ),
        Case("range", "GET", "/api/products/", params={"page": BEYOND_INT32}),
        Case("range", "GET", "/api/products/lookup/", params={"ids": str(BEYOND_BIGINT)}),
        # --- a one-value parameter given twice (the schema documents one value each) --------------
        Case("repeated", "GET", "/api/products/", params={"page": ["1", "2"]}),
        Case("repeated", "GET", "/api/products/", params={"category": ["kitchen", "garden"]}),
        Case("repeated", "GET", "/api/products/lookup/", params={"ids": ["1", "2"]}),
        Case("repeated", "GET", "/api/orders/", params={"page_size": ["5", "5"]}, who="user"),
    ]
    # --- JSON nested deep, to every write endpoint with a body -------------------------------------
    writes = [
        ("POST", "/api/auth/register/", "anyone"),
        ("POST", "/api/auth/login/", "anyone"),
        ("POST", "/api/auth/refresh/", "anyone"),
        ("POST", "/api/auth/logout/", "anyone"),
        ("PATCH", "/api/users/me/", "user"),
        ("POST", "/api/products/", "admin"),
        ("PATCH", "/api/products/{product_id}/", "admin"),
        ("POST", "/api/orders/", "user"),
    ]
    for (method, path, who), body in itertools.product(writes, [SHALLOW_ENOUGH_TO_PARSE, DEEPER_THAN_RECURSION]):
        cases.append(Case("nested", method, path, data=body, who=who))
    # --- path IDs of every detail endpoint ---------------------------------------------------------
    details = [
        ("GET", "/api/products/{id}/", "anyone"),
        ("PATCH", "/api/products/{id}/", "admin"),
        ("DELETE", "/api/products/{id}/", "admin"),
        ("GET", "/api/orders/{id}/", "user"),
        ("POST", "/api/orders/{id}/cancel/", "user"),
    ]
    for (method, path, who), (kind, raw, status) in itertools.product(details, HOSTILE_IDS):
        body = {"name": "Renamed"} if method == "PATCH" else None
        cases.append(Case(kind, method, path.replace("{id}", quote(raw, safe="")), json=body, who=who, status=status))
    return cases


CASES = _cases()


@pytest.fixture(scope="module")
def hostile_user():
    return login(register())


@pytest.fixture(scope="module")
def target(admin) -> dict:
    """A product of this module that hostile PATCHes and orders aim at; it must come out unchanged."""
    body = {"sku": f"TARGET-{RUN}", "name": "Target", "category": "kitchen", "price": "5.00", "stock": 1_000}
    response = admin.client.post("/api/products/", json=body, headers=admin.auth)
    assert response.status_code == 201, response.text
    return response.json()


def _send(case: Case, *, admin, user, target) -> object:
    client = {"admin": admin, "user": user}.get(case.who)
    headers = dict(client.auth) if client else {}
    path = case.path.replace("{product_id}", target["id"])
    body = case.json
    if body and "items" in body:
        body = {
            "items": [{k: (target["id"] if v == "{product_id}" else v) for k, v in i.items()} for i in body["items"]]
        }
    if case.data is not None:
        headers["Content-Type"] = "application/json"
    return (client.client if client else Client()).request(
        case.method, path, json=body, data=case.data, params=case.params, headers=headers
    )


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_hostile_input_is_a_4xx_in_the_error_shape(case, admin, hostile_user, target):
    # when
    response = _send(case, admin=admin, user=hostile_user, target=target)
    # then
    error = assert_error(response, case.status)
    if case.status == 400 and error["code"] == "validation_error":
        assert error.get("fields"), error


def test_nothing_hostile_was_stored(admin, hostile_user, target):
    # given: every case above was sent (this test runs after them)
    # then: no product, account or order of theirs on any shard server, and the targets are unchanged
    counts = {
        ("product", "products"): f"SELECT count(*) FROM products_product WHERE sku LIKE 'HOSTILE-{RUN.upper()}-%'",
        ("user", "users"): f"SELECT count(*) FROM users_user WHERE email LIKE 'hostile-{RUN}-%'",
        ("order", "orders"): f"SELECT count(*) FROM orders_order WHERE user_id = {hostile_user.id}",
    }
    for (service, database), sql in counts.items():
        for server in (0, 1):
            assert psql(f"{service}-db-{server}", database, sql) == [["0"]], (service, server)
    now = admin.client.get(f"/api/products/{target['id']}/", headers=admin.auth).json()
    assert {k: now[k] for k in ("name", "price", "stock")} == {k: target[k] for k in ("name", "price", "stock")}
    me = hostile_user.client.get("/api/users/me/", headers=hostile_user.auth).json()
    assert me["name"] == "Test"
    assert hostile_user.client.post("/api/auth/login/", json={"email": hostile_user.email, "password": PASSWORD}).ok
