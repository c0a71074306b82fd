"""The OpenAPI description every service gives of itself: drf-spectacular's DEFAULT_SCHEMA_CLASS, made exact.

drf-spectacular describes the success response and the fields of each operation. This adds, by one rule
for every operation of every service (the gateway merges the services' schemas into /api/schema/):

- `security`: `[]` for an operation anyone may call (its permissions let an anonymous request through),
  the bearer JWT for the others;
- the error responses, all in the one error shape (`Error`), where they can happen:
  400 (invalid parameters or body; a malformed JSON body; a non-canonical path), 401 (no valid access
  token; the gateway checks any token sent, so a public operation answers 401 to an invalid one),
  403 (an operation a signed-in non-admin may not call), 404 (an object in the path that is not there,
  or not yours), 413 and 415 (a body too large, not JSON), 414 (a URI too long, from nginx), 429 (the
  edge's per-address limits), and
  503/504 (a service down or too slow, from the gateway or nginx). Domain conflicts (409) and other
  codes an operation has are declared by the view with `error(...)` in `extend_schema(responses=...)`;
- the platform's input rules as JSON Schema constraints (`fields.py`): text without control characters
  (and, where it may not be blank, with something other than white space) is a `pattern`; a field with
  its own syntax (e.g. `params.IdListField`) gives its `openapi_pattern`;
- component names that do not collide: a serializer nested in a view is named after the view.
"""

from __future__ import annotations

from types import SimpleNamespace

from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from shared.http import fields

# text without control characters, and text that also holds something other than white space (what DRF's
# CharField trims: Python's white space, written out so that every regular expression engine agrees)
_CONTROL = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
_BLANK_OR_CONTROL = r"\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
TEXT_PATTERN = rf"^[^{_CONTROL}]*$"
SOME_TEXT_PATTERN = rf"^[^{_CONTROL}]+$"
NON_BLANK_TEXT_PATTERN = rf"^[^{_CONTROL}]*[^{_BLANK_OR_CONTROL}][^{_CONTROL}]*$"

_ANONYMOUS = None  # REST_FRAMEWORK["UNAUTHENTICATED_USER"]
_SIGNED_IN = SimpleNamespace(is_authenticated=True, is_staff=False)
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="What went wrong, for programs: e.g. `validation_error`, `not_found`.")
    message = serializers.CharField(help_text="What went wrong, for people.")
    fields = serializers.DictField(
        required=False, help_text="For `validation_error`: the messages of each field (nested as the input is)."
    )


class ErrorSerializer(serializers.Serializer):
    """The one error shape of the platform."""

    error = ErrorDetailSerializer()


def error(description: str) -> OpenApiResponse:
    """A response in the one error shape, for `extend_schema(responses={409: error("...")})`."""
    return OpenApiResponse(ErrorSerializer, description=description)


class AutoSchema(openapi.AutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is not None and self.is_public():
            operation["security"] = []
        return operation

    def get_auth(self):
        auths = super().get_auth()  # registers the security scheme
        return [] if self.is_public() else [auth for auth in auths if auth]

    def is_public(self) -> bool:
        """Whether an anonymous request passes every permission of the view for this method."""
        return self._permits(_ANONYMOUS)

    def _permits(self, user) -> bool:
        request = SimpleNamespace(method=self.method, user=user, auth=None)
        return all(permission.has_permission(request, self.view) for permission in self.view.get_permissions())

    def _has_body(self) -> bool:
        return self.method in _BODY_METHODS and self.get_request_serializer() is not None

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code, description in self._error_responses():
            responses.setdefault(str(code), self._get_response_for_code(error(description), str(code)))
        return dict(sorted(responses.items()))

    def _error_responses(self) -> list[tuple[int, str]]:
        has_path_id, has_body = "{" in self.path, self._has_body()
        found = []
        if has_body or self._get_parameters():
            found.append(
                (400, "Invalid input: field errors in `fields`, a malformed JSON body, or a non-canonical path.")
            )
        if self.is_public():
            found.append((401, "An Authorization header with an access token that is invalid or expired."))
        else:
            found.append((401, "No valid access token (Authorization: Bearer <access token>)."))
            if not self._permits(_SIGNED_IN):
                found.append((403, "Only an admin may do this."))
        if has_path_id:
            found.append((404, "No such object (or it is not yours)."))
        if has_body:
            found.append((413, "The request body is too large."))
            found.append((415, "The request body is not JSON."))
        found.append((414, "The URI is too long (4,000 characters or more, query string included)."))
        found.append((429, "Too many requests: the edge's per-address limits (Retry-After when known)."))
        found.append((503, "A service is unavailable (or the data is being moved): retry shortly."))
        found.append((504, "A service did not answer in time."))
        return found

    def _get_serializer_name(self, serializer, direction, bypass_extensions=False):
        # a serializer nested in a view is named after it (RegisterApi.InputSerializer: RegisterInput), so
        # that the components of one service, and of all services merged by the gateway, never collide
        name = super()._get_serializer_name(serializer, direction, bypass_extensions)
        owner, _, nested = type(serializer).__qualname__.rpartition(".")
        return owner.removesuffix("Api") + name if owner and nested else name

    def _insert_field_validators(self, field, schema):
        super()._insert_field_validators(field, schema)
        # a field that may be blank is described as oneOf [its own schema, ""]
        inner = schema["oneOf"][0] if "oneOf" in schema else schema
        if inner.get("type") != "string":
            return
        if getattr(field, "openapi_pattern", None):  # a field that says exactly what it takes
            inner["pattern"] = field.openapi_pattern
        elif fields.no_control_characters in field.validators:
            # drf-spectacular writes the validator's regex, not its inverse (`inverse_match`): replace it
            if "oneOf" in schema:
                inner["pattern"] = SOME_TEXT_PATTERN  # "" is the other branch
            elif field.trim_whitespace:
                inner["pattern"] = NON_BLANK_TEXT_PATTERN
            else:
                inner["pattern"] = TEXT_PATTERN
