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
        return JsonResponse(aggregation.merged_schema())
    except (ApplicationError, ValueError):
        return error_response(503, "upstream_unavailable", "A service's schema could not be read.")


def metrics(request):
    return ExportToDjangoView(request)
