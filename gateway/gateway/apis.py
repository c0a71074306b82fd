"""The gateway's own endpoints; everything under /api/ other than the schema is forwarded."""

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django_prometheus.exports import ExportToDjangoView

from gateway import aggregation, proxy
from shared.errors import ApplicationError
from shared.http.errors import error_response


@csrf_exempt
def forward(request, rest: str):
    try:
        return proxy.forward(request)
    except ApplicationError as exc:
        return error_response(exc.status_code, exc.code, exc.message, exc.fields)


def health(request):
    body, status = aggregation.platform_health()
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    return response


def schema(request):
    try:
        # keys sorted: the same document is the same bytes, whichever upstreams serve which paths
        # (the services or the monolith) and in whatever order they were merged
        return JsonResponse(aggregation.merged_schema(), json_dumps_params={"sort_keys": True})
    except (ApplicationError, ValueError):
        return error_response(503, "upstream_unavailable", "A service's schema could not be read.")


def metrics(request):
    return ExportToDjangoView(request)
