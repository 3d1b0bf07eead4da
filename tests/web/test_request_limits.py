"""The request-body limits middleware, route by route, from the declared length alone."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from hocba import limits
from hocba.web.request_limits import DEFAULT, ROUTES, RequestBodyLimitMiddleware, megabytes

PATHS = {
    "api:submit": "/api/v1/warehouse/packages",
    "api:verify_upload": "/api/v1/verify",
    "verify": "/xac-minh/",
    "gradebook-import": "/gradebook/subjects/7/import/",
    "external-import": "/external/schools/25000201/",
    "imports-school": "/imports/schools/25000201/",
}
ARGUMENTS = {
    "gradebook-import": {"pk": 7},
    "external-import": {"code": "25000201"},
    "imports-school": {"code": "25000201"},
}
DEFAULT_PATHS = ["/login/", "/api/v1/gradebook/subjects/7", "/signing/complete/", "/no/such/page"]

middleware = RequestBodyLimitMiddleware(lambda request: None)  # type: ignore[arg-type,return-value]
factory = RequestFactory()


def declared(path: str, length: int | str, **headers: str):
    request = factory.post(path, data=b"", content_type="application/octet-stream", **headers)
    request.META["CONTENT_LENGTH"] = str(length)
    return middleware.refusal(request)


def test_every_route_with_its_own_limit_is_where_the_table_says():
    for name, path in PATHS.items():
        assert reverse(name, kwargs=ARGUMENTS.get(name)) == path
    assert set(PATHS) == set(ROUTES)


def test_django_never_refuses_a_body_that_its_route_takes():
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == limits.LARGEST_REQUEST_BODY_BYTES
    for limit in [*ROUTES.values(), DEFAULT]:
        assert limit.size <= settings.DATA_UPLOAD_MAX_MEMORY_SIZE


@given(st.sampled_from(sorted(PATHS)), st.data())
def test_a_declared_length_within_the_route_s_limit_passes(name, data):
    length = data.draw(st.integers(min_value=0, max_value=ROUTES[name].size))
    assert declared(PATHS[name], length) is None


CASES = [(PATHS[name], ROUTES[name]) for name in sorted(PATHS)] + [
    (path, DEFAULT) for path in DEFAULT_PATHS
]


@given(st.sampled_from(CASES), st.data())
def test_a_declared_length_above_the_route_s_limit_is_answered_413_with_its_code(case, data):
    path, limit = case
    length = data.draw(st.integers(min_value=limit.size + 1, max_value=2**63))
    response = declared(path, length, HTTP_ACCEPT="application/json")
    assert response is not None and response.status_code == 413
    error = json.loads(response.content)["error"]
    assert error["code"] == limit.code
    assert limit.shown in error["message"]


@pytest.mark.parametrize("value", ["-1", "abc", "1e9"])
def test_a_content_length_that_is_not_a_length_is_refused(value):
    response = declared("/api/v1/verify", value)
    assert response.status_code == 400
    assert json.loads(response.content)["error"]["code"] == "BAD_CONTENT_LENGTH"


def test_a_refused_page_is_vietnamese_first_and_english_on_request():
    vietnamese = declared("/xac-minh/", 2**33)
    assert vietnamese.status_code == 413
    assert "Tệp quá lớn (tối đa 8 MB)" in vietnamese.content.decode()
    with translation.override("en"):
        english = declared("/xac-minh/", 2**33)
    assert "The file is too large (at most 8 MB)" in english.content.decode()


def test_sizes_are_written_as_a_vietnamese_reader_writes_them():
    assert megabytes(8 * limits.MiB) == "8 MB"
    assert megabytes(limits.REQUEST_BODY_BYTES) == "2,5 MB"
    assert megabytes(limits.PACKAGE_BYTES) == "64 MB"
