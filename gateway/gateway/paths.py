"""Refusing request paths that are not canonical, before they are routed (nginx refuses them first).

A path with dot-segments (`/api/products/../metrics`), encoded dots, slashes or backslashes (`%2e`,
`%2f`, `%5c`) or a backslash is read differently by each hop: nginx normalises it, gunicorn decodes
it, and the HTTP client that forwards it removes dot-segments again, so a path routed to one service
can reach another path of it (its `/metrics`) or another service. The gateway routes only paths
that mean what they say.
"""

from __future__ import annotations

import re

from django.http import HttpRequest

from shared.errors import ApplicationError

_ENCODED = re.compile(r"%(2e|2f|5c)", re.IGNORECASE)
_DOT_SEGMENTS = frozenset({".", ".."})
# the same words as nginx's answer (deploy/nginx/nginx.conf, location @non_canonical_path)
MESSAGE = "The path must not contain dot-segments, backslashes, or encoded dots, slashes or backslashes."


class NonCanonicalPath(ApplicationError):
    status_code = 400
    code = "non_canonical_path"


def is_canonical(raw_path: str, path: str) -> bool:
    """Whether a path is safe to route: `raw_path` as the client sent it, `path` decoded."""
    if _ENCODED.search(raw_path) or "\\" in path:
        return False
    return not _DOT_SEGMENTS.intersection(path.split("/"))


def check_path(request: HttpRequest) -> None:
    """Raise NonCanonicalPath (a 400) for a request whose path is not canonical.

    gunicorn keeps the path as sent in `RAW_URI`; without it (tests, another server) the decoded path
    is all there is, which still shows dot-segments made from `%2e`.
    """
    raw_path = request.META.get("RAW_URI", "").split("?", 1)[0]
    if not is_canonical(raw_path, request.path):
        raise NonCanonicalPath(MESSAGE)
