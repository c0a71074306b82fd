"""`/ops/` for staff: a login page (a session, kept in `cached_db`), the dashboard, and its data.

Thin views: who may look is `staff_required`; what is shown is `charts.CHARTS`; reading Prometheus is
`prometheus.query_range`."""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import views as auth_views
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from ops import prometheus
from ops.charts import CHARTS
from ops.forms import StaffLoginForm
from shared.http.errors import error_response


def _is_staff(request) -> bool:
    return request.user.is_active and request.user.is_staff


def staff_required(*, page: bool):
    """A page sends anyone else to the login page; data answers them 403 in the error shape."""

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if _is_staff(request):
                return view(request, *args, **kwargs)
            if page:
                return redirect(f"{settings.LOGIN_URL}?next={request.path}")
            return error_response(403, "permission_denied", "Sign in with a staff account at /ops/login/.")

        return wrapper

    return decorate


class LoginView(auth_views.LoginView):
    form_class = StaffLoginForm
    template_name = "ops/login.html"
    redirect_authenticated_user = False  # a signed-in non-staff session may still sign in as staff

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.retry_after is not None:  # the account's failed logins are throttled: say so in HTTP too
            response.status_code = 429
            response["Retry-After"] = str(form.retry_after)
        return response


class LogoutView(auth_views.LogoutView):
    next_page = "/ops/login/"


@require_GET
@csrf_protect  # its sign-out form carries the token of the session's CSRF cookie
@staff_required(page=True)
def dashboard(request):
    charts = [{"id": chart.id, "title": chart.title, "unit": chart.unit} for chart in CHARTS]
    context = {"charts": charts, "window_minutes": settings.OPS_WINDOW_SECONDS // 60}
    return render(request, "ops/dashboard.html", context)


@require_GET
@staff_required(page=False)
def series(request):
    """Every chart's lines over the last OPS_WINDOW_SECONDS, at OPS_STEP_SECONDS."""
    window, step = settings.OPS_WINDOW_SECONDS, settings.OPS_STEP_SECONDS
    try:
        charts = {
            chart.id: prometheus.query_range(
                chart.query, label=chart.label, seconds=window, step=step, scale=chart.scale
            )
            for chart in CHARTS
        }
    except prometheus.PrometheusUnavailable as exc:
        return error_response(exc.status_code, exc.code, exc.message)
    return JsonResponse({"window_seconds": window, "step_seconds": step, "charts": charts})


@require_http_methods(["GET", "DELETE"])
def staff_session(request):
    """Who the forwarded staff session belongs to (GET), or its end (DELETE), for the product and order
    admins (shared/staff/remote.py). Routed inside the application network only (config/urls.py)."""
    if request.method == "DELETE":
        auth_logout(request)
        return HttpResponse(status=204)
    if not _is_staff(request):
        return error_response(401, "not_authenticated", "No staff session with this cookie.")
    user = request.user
    return JsonResponse({"id": str(user.id), "email": user.email, "name": user.name})
