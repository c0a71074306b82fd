"""ModelAdmins for sharded models: one server at a time, read-only unless a service function writes.

A sharded model's rows live on every shard server, and the shard router refuses a query that names no
database (`shared/db/routers.py`), so every query an admin page makes names its site's server: the
change list, the change form, the inlines and the choices of a foreign key. Reads go to the primary: an
operator looks at what is, not at what a standby has replayed so far.

What may be changed is named in `editable_fields`; the changes pass the API's own input serializer
(`input_serializer`: the same bounds, the same refusal of control characters) and `save_changes` hands
them to the same service function an API call uses (caches dropped, events published in the same
transaction): an admin never writes a row behind the service's back. Search is exact (`exact_search`:
an ID, an e-mail, a SKU), on an index, never a `LIKE` over a large table.

Rows are never added or deleted from the admin (IDs carry their shard, deletions have consequences in
other services: both are the API's). Who changed what is
logged (logger `staff.audit`, with the request ID): Django's LogEntry table cannot point at a user kept
on another server, or in another service.
"""

from __future__ import annotations

import logging
import operator
from collections.abc import Callable
from decimal import Decimal
from functools import reduce

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.utils.decorators import method_decorator
from django.utils.functional import cached_property
from django.views.decorators.csrf import csrf_protect

from shared.db.counts import count_rows
from shared.http.params import is_object_id

audit = logging.getLogger("staff.audit")

_registry: list[tuple[type, type[admin.ModelAdmin], bool]] = []

SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")


def object_id(text: str) -> int:
    """An ID typed into a search box, as the API reads one from a URL (else ValueError: not this field)."""
    if not is_object_id(text):
        raise ValueError(text)
    return int(text)


def has_control_characters(text: str) -> bool:
    return any(ord(char) < 32 or ord(char) == 127 for char in text)


def register(*models, home_only: bool = False):
    """Register `models` with the decorated ModelAdmin on every server's site (or the home server's only)."""

    def decorate(admin_class):
        for model in models:
            _registry.append((model, admin_class, home_only))
        return admin_class

    return decorate


def registered() -> list[tuple[type, type[admin.ModelAdmin], bool]]:
    return list(_registry)


class EstimatedCountPaginator(Paginator):
    """Pages of a change list without `count(*)` over a large table: exact up to a few thousand rows,
    else the planner's estimate (`shared/db/counts.py`, as the public lists count)."""

    @cached_property
    def count(self) -> int:
        return count_rows(self.object_list).value


def _is_staff(request) -> bool:
    user = request.user
    return bool(user.is_active and user.is_staff)


class ShardedModelAdmin(admin.ModelAdmin):
    editable_fields: tuple[str, ...] = ()
    input_serializer = None  # the API's serializer for these fields (partial): the admin's changes pass it too
    # (field, parse) pairs: a search term is each field's exact value that parses (ValueError: not this one)
    exact_search: tuple[tuple[str, Callable[[str], object]], ...] = ()
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_per_page = 50

    @property
    def alias(self) -> str:
        return self.admin_site.alias

    # --- every query names this site's server ---------------------------------------------------------
    def get_queryset(self, request):
        return super().get_queryset(request).using(self.alias)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        kwargs.setdefault("queryset", db_field.remote_field.model._base_manager.using(self.alias).all())
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    # --- who may do what: staff look at everything, change only `editable_fields` ----------------------
    def has_module_permission(self, request) -> bool:
        return _is_staff(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return _is_staff(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return _is_staff(request) and bool(self.editable_fields)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_readonly_fields(self, request, obj=None):
        hidden = {*self.editable_fields, *(self.exclude or ())}
        return [field.name for field in self.opts.concrete_fields if field.name not in hidden]

    # --- search: exact values on indexes ----------------------------------------------------------------
    def get_search_fields(self, request):
        return [field for field, _ in self.exact_search]

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        matches = []
        if not has_control_characters(term):
            for field, parse in self.exact_search:
                try:
                    matches.append(Q(**{field: parse(term)}))
                except ValueError:
                    continue
        if not matches:
            return queryset.none(), False
        return queryset.filter(reduce(operator.or_, matches)), False

    # --- input: the API's rules ---------------------------------------------------------------------------
    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change, **kwargs)
        serializer_class, editable = self.input_serializer, self.editable_fields
        if serializer_class is None:
            return form_class

        class CheckedByTheApi(form_class):
            def clean(self):
                data = super().clean()
                changed = {
                    name: str(data[name]) if isinstance(data[name], Decimal) else data[name]  # as JSON gives it
                    for name in self.changed_data
                    if name in editable and name in data
                }
                serializer = serializer_class(data=changed, partial=True)
                if not serializer.is_valid():
                    for name, errors in serializer.errors.items():
                        self.add_error(name if name in self.fields else None, [str(error) for error in errors])
                return data

        return CheckedByTheApi

    # --- writes: a transaction on this server, the change through the service ---------------------------
    @method_decorator(csrf_protect)
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method in SAFE_METHODS:
            return self._changeform_view(request, object_id, form_url, extra_context)
        with transaction.atomic(using=self.alias):  # Django's own names no database: the router refuses it
            return self._changeform_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        raise PermissionDenied

    def save_model(self, request, obj, form, change):
        changes = {name: form.cleaned_data[name] for name in form.changed_data if name in self.editable_fields}
        if changes:
            self.save_changes(obj, changes)

    def save_changes(self, obj, changes: dict) -> None:
        """Apply `changes` to `obj` through the service that owns it."""
        raise PermissionDenied

    def save_related(self, request, form, formsets, change):
        """Inlines are read-only: nothing related is saved from here."""

    # --- the audit trail: a log line, not LogEntry ------------------------------------------------------
    def _audit(self, request, action: str, obj, message) -> None:
        audit.info(
            "%s %s %s %s on %s: %s",
            request.user.get_username(),
            action,
            self.opts.label,
            obj.pk,
            self.alias,
            message,
            extra={"request_id": getattr(request, "request_id", "")},
        )

    def log_addition(self, request, obj, message):
        self._audit(request, "added", obj, message)

    def log_change(self, request, obj, message):
        self._audit(request, "changed", obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            self._audit(request, "deleted", obj, "")


class ShardedInline(admin.TabularInline):
    """Rows of the parent's server, shown read-only beside it."""

    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).using(self.admin_site.alias)

    def get_readonly_fields(self, request, obj=None):
        return self.fields  # every field shown, none a form field

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        return _is_staff(request)
