"""Which upstream answers which path prefix, changed at run time: the strangler path.

`GATEWAY_ROUTES` (settings) is the table the gateway starts from: each public path prefix and the service
that owns it. The routes file (`GATEWAY_ROUTES_FILE`, JSON `{"/api/products/": "product", ...}`, on a volume
every gateway replica mounts) sends the prefixes it names elsewhere: to the monolith (`make up
MODE=monolith` sends them all there), or back to a service taken out of it. Every process looks at the
file's modification time at most every `ROUTES_CHECK_SECONDS` and reads it again when it changed; a file
that cannot be read or names an unknown prefix or upstream leaves the routes as they were (logged).

    python -m gateway.routing set /api/products/ product     # in a gateway container: `make route`
    python -m gateway.routing all monolith                    # every prefix (`make up MODE=monolith`)
    python -m gateway.routing reset                           # back to GATEWAY_ROUTES
    python -m gateway.routing show
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from pathlib import Path

from django.conf import settings

logger = logging.getLogger(__name__)
ROUTES_CHECK_SECONDS = 1.0


class RoutesFileError(ValueError):
    pass


def _checked(overrides: object) -> dict[str, str]:
    prefixes = {prefix for prefix, _ in settings.GATEWAY_ROUTES}
    if not isinstance(overrides, dict):
        raise RoutesFileError("the routes file is a JSON object: path prefix -> upstream")
    for prefix, upstream in overrides.items():
        if prefix not in prefixes:
            raise RoutesFileError(f"unknown prefix {prefix!r} (GATEWAY_ROUTES: {', '.join(sorted(prefixes))})")
        if upstream not in settings.SERVICE_URLS:
            raise RoutesFileError(f"unknown upstream {upstream!r} (SERVICE_URLS: {', '.join(settings.SERVICE_URLS)})")
    return dict(overrides)


class Routes:
    """The routes in force in this process: `GATEWAY_ROUTES` with the routes file laid over it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._checked_at = float("-inf")
        self._mtime: float | None = None
        self._table: list[tuple[str, str]] = list(settings.GATEWAY_ROUTES)

    def table(self) -> list[tuple[str, str]]:
        # a thread that comes while another reads the file waits for it: the first read of a process must
        # not leave the others routing by the configured table meanwhile (a stopped service: a 503)
        if self._due():
            with self._lock:
                if self._due():
                    self._refresh()
                    self._checked_at = time.monotonic()
        return self._table

    def _due(self) -> bool:
        return time.monotonic() - self._checked_at >= ROUTES_CHECK_SECONDS

    def upstreams(self) -> list[str]:
        """Every upstream some prefix goes to now, in a stable order."""
        return sorted({upstream for _, upstream in self.table()})

    def _refresh(self) -> None:
        path = Path(settings.GATEWAY_ROUTES_FILE)
        try:
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            mtime = None
        if mtime == self._mtime:
            return
        self._mtime = mtime  # a bad file is reported once, and read again when it changes
        try:
            overrides = _checked(json.loads(path.read_text())) if mtime is not None else {}
        except (OSError, ValueError) as exc:
            logger.error("routes file %s not applied, the routes stay as they were: %s", path, exc)
            return
        self._table = [(prefix, overrides.get(prefix, upstream)) for prefix, upstream in settings.GATEWAY_ROUTES]
        logger.info("routes: %s", ", ".join(f"{prefix} -> {upstream}" for prefix, upstream in self._table))


routes = Routes()


def write(overrides: dict[str, str]) -> None:
    """Replace the routes file at once (a new file renamed over the old: no process reads half of it)."""
    path = Path(settings.GATEWAY_ROUTES_FILE)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(json.dumps(_checked(overrides), indent=2, sort_keys=True) + "\n")
    partial.replace(path)


def _current_overrides() -> dict[str, str]:
    path = Path(settings.GATEWAY_ROUTES_FILE)
    return json.loads(path.read_text()) if path.exists() else {}


def main(argv: list[str]) -> int:
    import django

    django.setup()
    command, *args = argv or ["show"]
    try:
        if command == "set" and len(args) % 2 == 0 and args:
            write({**_current_overrides(), **dict(zip(args[::2], args[1::2], strict=True))})
        elif command == "all" and len(args) == 1:
            write(dict.fromkeys((prefix for prefix, _ in settings.GATEWAY_ROUTES), args[0]))
        elif command == "reset" and not args:
            write({})
        elif command != "show" or args:
            print(__doc__, file=sys.stderr)
            return 2
    except RoutesFileError as exc:  # an unknown prefix or upstream: said in one line, nothing written
        print(f"routes not changed: {exc}", file=sys.stderr)
        return 2
    for prefix, upstream in Routes().table():
        print(f"{prefix}\t{upstream}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.exit(main(sys.argv[1:]))
