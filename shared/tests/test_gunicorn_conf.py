"""gunicorn as every web container runs it (shared/gunicorn_conf.py): the application is loaded once in
the arbiter, with the URLconf, and frozen out of the collector's sight; each worker, and each worker that
replaces one retired by max_requests, is a fork of that."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import shared

CONF = Path(shared.__file__).parent / "gunicorn_conf.py"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ask(port: int, *, wait_seconds: float = 20.0) -> dict:
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
                return json.loads(response.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_every_worker_is_a_fork_of_the_application_loaded_and_frozen_in_the_arbiter(tmp_path):
    # given: gunicorn with the shared settings, one worker retired after every 3 requests
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "shared.tests.settings",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        "ACCESS_LOG": "off",
    }
    command = [sys.executable, "-m", "gunicorn", "--config", str(CONF), "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", "1", "--max-requests", "3", "--max-requests-jitter", "0"]
    command += ["--pythonpath", str(CONF.parent.parent), "shared.tests.gunicorn_probe:application"]
    arbiter = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # when: 10 requests, one worker at a time
        answers = [_ask(port) for _ in range(10)]
    finally:
        arbiter.terminate()
        arbiter.wait(timeout=30)
    # then: more than one worker served them (a worker was retired and replaced), each a fork of the arbiter, which
    # had imported the application and the URLconf and frozen them before forking
    workers = {answer["pid"] for answer in answers}
    assert len(workers) >= 2
    assert arbiter.pid not in workers
    for answer in answers:
        assert answer["loaded_in"] == arbiter.pid
        assert answer["urlconf_imported"] is True
        assert answer["frozen"] > 10_000  # Django, the settings and the URLconf's modules
