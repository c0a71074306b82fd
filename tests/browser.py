"""Headless Chromium (Debian's `chromium`, `make browser`) driven over the DevTools protocol: open a page
with a cookie set, read the page with JavaScript, save a screenshot. Enough for a test to look at a page
as a person would, without a browser download or a WebDriver."""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import requests
import websocket


class Chromium:
    def __init__(self, *, width: int = 1400, height: int = 1800, timeout: float = 30.0):
        self.size, self.timeout = (width, height), timeout
        self._ids = itertools.count(1)

    def __enter__(self) -> Chromium:
        binary = shutil.which("chromium")
        assert binary, "no chromium on this machine: `make browser` installs Debian's"
        self._profile = tempfile.mkdtemp(prefix="chromium-")
        self._process = subprocess.Popen(
            [
                binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
                "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
                f"--user-data-dir={self._profile}", f"--window-size={self.size[0]},{self.size[1]}", "about:blank",
            ],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        port_file = Path(self._profile) / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while not (port_file.exists() and port_file.read_text().strip()):
            assert time.monotonic() < deadline and self._process.poll() is None, "chromium did not start"
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        target = requests.put(f"http://127.0.0.1:{port}/json/new?about:blank", timeout=5).json()
        self._socket = websocket.create_connection(target["webSocketDebuggerUrl"], timeout=self.timeout)
        return self

    def __exit__(self, *exc) -> None:
        try:
            self._socket.close()
        finally:
            # the browser and every process it started (renderer, utility, crash handler: its own session)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGTERM)
            self._process.wait(timeout=10)
            self._remove_profile()

    def _remove_profile(self) -> None:
        """Delete the profile once nothing writes to it: a child of the browser can still write its last
        files for a moment after the browser itself has exited (CI once met 'Directory not empty')."""
        deadline = time.monotonic() + 10
        while True:
            try:
                shutil.rmtree(self._profile)
                return
            except FileNotFoundError:
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def send(self, method: str, **params) -> dict:
        """One DevTools command and its result (events that arrive meanwhile are skipped)."""
        message_id = next(self._ids)
        self._socket.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            message = json.loads(self._socket.recv())
            if message.get("id") == message_id:
                assert "error" not in message, message
                return message.get("result", {})

    def set_cookie(self, url: str, name: str, value: str) -> None:
        assert self.send("Network.setCookie", url=url, name=name, value=value).get("success") is not False

    def open(self, url: str) -> None:
        self.send("Page.enable")
        self.send("Page.navigate", url=url)

    def evaluate(self, expression: str):
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def screenshot(self, path: Path) -> None:
        data = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
