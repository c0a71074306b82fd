"""The API contract, fuzzed: schemathesis generates requests from the merged OpenAPI schema (/api/schema/)
and sends them through nginx, as a regular user and as an admin, with every one of its checks
(configuration and its few exceptions, each with the reason: tests/contract/schemathesis.toml).

The run must find no failure and get no response of 500 or more, over at least 1,000 generated cases
in all. Each role's run is bounded in time (`--max-time`); one that stops there with operations untested
(schemathesis now and then stalls, failing nothing) is run once more with a new seed, held to the same.
The accounts are made for the run: a user registered here and logged in for real, and the admin with the
password of `.env`.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from support import BASE_URL, ROOT, Client, User, login, register

CONFIG = ROOT / "tests/contract/schemathesis.toml"
# the public API as published, reviewed like code: `make contract` writes it from the running stack
CONTRACT = ROOT / "tests/contract/openapi.json"
# schemathesis' command line, safe from a CPython 3.11 race between its two workers (see the file)
SCHEMATHESIS = [str(ROOT / ".venv/bin/python"), str(ROOT / "tests/contract/run_schemathesis.py")]
MAX_EXAMPLES = 60  # per operation and phase
# per role, in both modes. The monolith had 75 s for a while: in the clean-clone CI of 780c3f6 its admin
# run's coverage phase alone took 85-94 s, twice (a slow spell: rerun on that stack, 10 s), so it never
# reached 6 of the 16 operations; 150 s leaves that phase room on a slow machine
MAX_SECONDS = 150
MIN_CASES = 1000  # in all, over both roles
_generated: dict[str, int] = {}


def _run(role: str, user: User, report_dir: Path) -> tuple[dict, list[int]] | None:
    """One schemathesis run: its report and the statuses it got, or None when it never ended."""
    command = [
        *SCHEMATHESIS,
        "--config-file",
        str(CONFIG),
        "run",
        f"{BASE_URL}/api/schema/",
        "--url",
        BASE_URL,
        "--header",
        f"Authorization: {user.auth['Authorization']}",
        # the stateful phase (linked operations) is left out for now: in its first runs schemathesis 4.32.5
        # reported a schema-valid order (POST /api/orders/ {"items": [{"product_id": <a listed product>,
        # "quantity": 138}]}, test case HOtxm9, answered 202) as a "schema-violating request accepted"
        # without naming the violating part; every operation is still fuzzed alone, positive and negative
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--max-time",
        str(MAX_SECONDS),
        "--workers",
        "2",
        "--request-timeout",
        "30",
        "--report",
        "json,har",
        "--report-dir",
        str(report_dir),
        "--no-color",
    ]
    try:
        # the cap also lets the command finish its reports after --max-time
        result = subprocess.run(command, capture_output=True, text=True, timeout=MAX_SECONDS + 120, check=False)
    except subprocess.TimeoutExpired as stuck:  # killed by subprocess.run; its reports were never written
        output = stuck.stdout or b""  # bytes: what was read before the timeout, undecoded
        print(f"schemathesis as {role} did not end within {stuck.timeout} s:\n{output[-3000:]!r}")
        return None
    report_files = sorted(report_dir.glob("json-*.json"))  # schemathesis names its reports <format>-<time>.json
    har_files = sorted(report_dir.glob("har-*.json"))
    assert report_files and har_files, result.stdout[-5000:] + result.stderr[-3000:]
    report = json.loads(report_files[-1].read_text())
    entries = json.loads(har_files[-1].read_text())["log"]["entries"]
    statuses = [entry["response"]["status"] for entry in entries]
    print(f"schemathesis as {role}: {report['test_cases']}, {len(statuses)} responses\n{result.stdout[-3000:]}")
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-3000:]
    return report, statuses


@pytest.fixture(scope="module")
def signed_in_as(admin) -> dict[str, User]:
    return {"user": login(register()), "admin": admin}


@pytest.mark.parametrize("role", ["user", "admin"])
def test_the_api_keeps_its_contract_under_fuzzing(role, signed_in_as, tmp_path, products):
    # given: an account of this role, signed in for real, and products made for the run (`products`)
    user = signed_in_as[role]
    # when
    report = _checked_run(role, user, tmp_path / "first")
    if report is None or _stalled(report):
        # schemathesis 4.32.5 now and then stops making cases for a while before or inside its coverage phase
        # (seen in CI: 54 cases, then nothing sent for 150 s, no failure; the same seed ran through in 150 s
        # with 5,261 cases when replayed), and once (CI of 2026-12-07, admin) never ended at all, its
        # --max-time notwithstanding. Such a run tested nothing wrong and proved too little: one more run
        # with a new seed, held to every assertion, as the first one was, and this one must end
        print(f"schemathesis as {role} stalled: running it once more")
        report = _checked_run(role, user, tmp_path / "second")
        assert report is not None, f"schemathesis as {role} did not end, twice"
    # then: every selected operation tested
    assert report["operations"]["tested"] == report["operations"]["selected"] > 0, report["operations"]
    _generated[role] = report["test_cases"]["generated"]


def _checked_run(role: str, user: User, report_dir: Path) -> dict | None:
    """One schemathesis run's report, with no check failed and no server error (whatever else it did); None
    when the run never ended."""
    report_dir.mkdir()
    ran = _run(role, user, report_dir)
    if ran is None:
        return None
    report, statuses = ran
    assert report["failures"] == [] and report["errors"] == [], json.dumps(report["failures"] + report["errors"])[:5000]
    assert [status for status in statuses if status >= 500] == []
    return report


def _stalled(report: dict) -> bool:
    """The run hit its time limit with selected operations it never tested."""
    operations = report["operations"]
    return report["stop_reason"] == "max_time" and operations["tested"] < operations["selected"]


def test_the_fuzzing_made_enough_cases():
    # then: both roles ran (the test above, in this module's order), 1,000 cases or more in all
    assert set(_generated) == {"user", "admin"}, _generated
    assert sum(_generated.values()) >= MIN_CASES, _generated


def _differences(served: dict, committed: dict) -> list[str]:
    """Where two OpenAPI documents differ: each path, then each component, added, removed or changed."""
    sections = [("paths", served.get("paths", {}), committed.get("paths", {}))]
    committed.setdefault("components", {})
    for name in sorted(set(served.get("components", {})) | set(committed["components"])):
        sections.append(
            (f"components/{name}", served.get("components", {}).get(name, {}), committed["components"].get(name, {}))
        )
    found = []
    for section, published, contract in sections:
        for key in sorted(set(published) | set(contract)):
            if key not in contract:
                found.append(f"{section} {key}: published, not in the contract")
            elif key not in published:
                found.append(f"{section} {key}: in the contract, not published")
            elif published[key] != contract[key]:
                found.append(f"{section} {key}: changed")
    return found or ["the documents differ outside paths and components"]


def test_the_published_schema_is_the_committed_contract_byte_for_byte():
    """The merged schema the gateway publishes is tests/contract/openapi.json, byte for byte (keys sorted).
    The suite runs in both modes (`make integration`, `make integration-monolith`): the services and the
    monolith publish one and the same API. A change to the API is a change to this file, made by
    `make contract` and reviewed in the diff."""
    committed = json.loads(CONTRACT.read_text())
    served = Client().get("/api/schema/")
    assert served.status_code == 200, served.text
    assert served.json() == committed, _differences(served.json(), committed)
    assert served.content == json.dumps(committed, sort_keys=True).encode()
