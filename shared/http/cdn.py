"""CDN cache headers, decided per class of path, so that nginx (the edge) and browsers cache right.

- public catalog reads: `Cache-Control: public, max-age=..., stale-while-revalidate=...` for
  browsers, `X-Accel-Expires` for the edge (nginx honours it, strips it, and is purged on change;
  0 for a spelling of a purged URL that a purge would not name, see `PublicPolicy.canonical_only`),
  `Vary: Authorization` because the answer may differ for a signed-in caller;
- anything user-specific, any write, anything sent with credentials: `private, no-store`;
- `ETag` on every 200 GET of the public catalog's service, and 304 for a matching `If-None-Match`
  (Django's ConditionalGetMiddleware, in the product service's MIDDLEWARE before this middleware so it
  sees the final headers; `private, no-store` answers are never revalidated, so the others go without).

Static files are nginx's business: hashed names, `public, max-age=31536000, immutable`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.utils.cache import patch_vary_headers


@dataclass(frozen=True)
class PublicPolicy:
    max_age: int
    stale_while_revalidate: int
    edge_seconds: int
    # the edge stores only the canonical spelling of such a URL (no query string, no leading zeros in
    # an ID), the one a purge names: another spelling of the same page could not be purged
    canonical_only: bool = False


def is_canonical(request) -> bool:
    """No query string, and no number in the path written with leading zeros (`/api/products/007/`)."""
    return not request.META.get("QUERY_STRING") and not re.search(r"/0+\d", request.path)


PRIVATE = "private, no-store"


def _rules() -> list[tuple[re.Pattern, PublicPolicy]]:
    return [(re.compile(pattern), PublicPolicy(**policy)) for pattern, policy in settings.CDN_PUBLIC_PATHS]


class CacheHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.rules = _rules()

    def __call__(self, request):
        response = self.get_response(request)
        if "Cache-Control" in response:
            return response  # a view that decided for itself
        policy = self.policy_for(request, response)
        if policy is None:
            response["Cache-Control"] = PRIVATE
            return response
        response["Cache-Control"] = (
            f"public, max-age={policy.max_age}, stale-while-revalidate={policy.stale_while_revalidate}"
        )
        edge_may_store = not policy.canonical_only or is_canonical(request)
        response["X-Accel-Expires"] = str(policy.edge_seconds if edge_may_store else 0)
        patch_vary_headers(response, ["Authorization"])
        return response

    def policy_for(self, request, response) -> PublicPolicy | None:
        cacheable = (
            request.method in ("GET", "HEAD")
            and response.status_code in (200, 304)
            and "Authorization" not in request.headers
            and not response.cookies
        )
        if not cacheable:
            return None
        return next((policy for pattern, policy in self.rules if pattern.match(request.path)), None)
