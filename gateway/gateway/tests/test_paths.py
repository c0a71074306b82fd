from urllib.parse import unquote

import pytest
from django.test import RequestFactory

from gateway import paths


@pytest.mark.parametrize(
    "raw",
    [
        "/api/products/../metrics",
        "/api/orders/../../metrics",
        "/api/products/./",
        "/api/products/..",
        "/api/products/%2e%2e/metrics",
        "/api/products/%2E%2E/metrics",
        "/api/products/.%2e/metrics",
        "/api/products/..%2fmetrics",
        "/api/orders/1%2Fcancel/",
        "/api/products/..%5cmetrics",
        "/api/products/..\\metrics",
    ],
)
def test_paths_with_dot_segments_encoded_dots_slashes_or_backslashes_are_refused(raw):
    # given: gunicorn's environ, the raw path in RAW_URI and PATH_INFO decoded
    request = RequestFactory().get(unquote(raw), RAW_URI=raw + "?x=1")
    # when / then
    with pytest.raises(paths.NonCanonicalPath) as error:
        paths.check_path(request)
    assert error.value.status_code == 400 and error.value.code == "non_canonical_path"


@pytest.mark.parametrize(
    "raw",
    ["/api/products/", "/api/products/123/", "/api/products/?search=a%2Fb%2e%2e", "/api/orders/1/cancel/", "/api/a.b/"],
)
def test_canonical_paths_pass(raw):
    path, _, _ = raw.partition("?")
    paths.check_path(RequestFactory().get(path, RAW_URI=raw))


def test_without_raw_uri_the_decoded_path_is_checked():
    with pytest.raises(paths.NonCanonicalPath):
        paths.check_path(RequestFactory().get("/api/products/../metrics"))
    paths.check_path(RequestFactory().get("/api/products/1/"))
