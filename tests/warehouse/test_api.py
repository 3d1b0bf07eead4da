"""The warehouse API: client-credentials tokens, scopes, address lists, and each account's
reach (a school sees its own records, a Sở its province)."""

from __future__ import annotations

import base64
import uuid

import pytest
from django.test import Client

from hocba.warehouse.auth import create_account
from hocba.warehouse.models import Account, StoredRecord
from tests.factories.database import entry, issued, sealed

pytestmark = pytest.mark.django_db

BASE = "/api/v1/warehouse"
TH, THCS = "25000101", "25000201"
SECRET = "a-long-enough-secret-for-tests"


@pytest.fixture
def enabled(settings):
    settings.WAREHOUSE_ENABLED = True
    return settings


def account(client_id: str, kind: str, **fields: str) -> Account:
    return create_account(client_id, SECRET, client_id, kind, **fields)


def token(client: Client, client_id: str, secret: str = SECRET, **extra: str) -> str:
    response = client.post(
        f"{BASE}/oauth/token",
        {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        **extra,
    )
    assert response.status_code == 200, response.content
    return str(response.json()["access_token"])


def auth(value: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {value}"}


def school_account(code: str) -> Account:
    from hocba.organizations.models import School

    school = School.objects.get(code=code)
    return account(
        f"api-{code}",
        Account.Kind.SCHOOL,
        school_code=code,
        province_code=school.province_code,
        province_office_code=school.province_office.code,
        tax_code=school.tax_code,
    )


def test_the_warehouse_answers_only_where_it_is_enabled(client, demo):
    response = client.post(f"{BASE}/oauth/token", {"grant_type": "client_credentials"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "WAREHOUSE_DISABLED"


def test_wrong_secret_missing_token_and_wrong_address_are_refused(client, enabled, demo):
    school_account(THCS)
    bad = client.post(
        f"{BASE}/oauth/token",
        {"grant_type": "client_credentials", "client_id": f"api-{THCS}", "client_secret": "x"},
    )
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "invalid_client"
    assert client.get(f"{BASE}/stats").status_code == 401
    assert client.get(f"{BASE}/stats", **auth("made-up")).status_code == 401
    fenced = account(
        "fenced", Account.Kind.MINISTRY, allowed_ips="10.0.0.0/8"
    )  # only from the Ministry's network
    refused = client.post(
        f"{BASE}/oauth/token",
        {
            "grant_type": "client_credentials",
            "client_id": fenced.client_id,
            "client_secret": SECRET,
        },
    )
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "access_denied"
    ok = token(client, fenced.client_id, REMOTE_ADDR="10.1.2.3")
    assert client.get(f"{BASE}/stats", **auth(ok), REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get(f"{BASE}/stats", **auth(ok), REMOTE_ADDR="127.0.0.1").status_code == 403


def test_a_school_submits_over_the_api_and_reads_the_answers(
    client, enabled, demo, django_capture_on_commit_callbacks
):
    school_account(THCS)
    value = token(client, f"api-{THCS}")
    version = issued(THCS)[0]
    StoredRecord.objects.filter(record_id=version.record.record_id).delete()
    data = sealed(THCS, [entry(version)])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"{BASE}/packages", data, content_type="application/xml", **auth(value)
        )
    assert response.status_code == 202, response.content
    package_id = response.json()["package_id"]
    again = client.post(f"{BASE}/packages", data, content_type="application/xml", **auth(value))
    assert again.status_code == 200 and again.json()["package_id"] == package_id
    status = client.get(f"{BASE}/packages/{package_id}", **auth(value)).json()
    assert status["status"] == "DONE"
    assert status["acks"] == [
        {
            "record_id": str(version.record.record_id),
            "version": version.version,
            "status": "ACCEPTED",
            "code": "ACCEPTED",
            "message": status["acks"][0]["message"],
        }
    ]
    # another school cannot see that package
    school_account(TH)
    other = token(client, f"api-{TH}")
    assert client.get(f"{BASE}/packages/{package_id}", **auth(other)).status_code == 403


def test_a_malformed_package_is_refused_at_once(client, enabled, demo):
    school_account(THCS)
    value = token(client, f"api-{THCS}")
    response = client.post(
        f"{BASE}/packages", b"<GOI_TIN", content_type="application/xml", **auth(value)
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "PACKAGE_MALFORMED"


def test_school_a_cannot_read_school_b_and_a_province_reads_only_its_own(client, enabled, demo):
    school_account(TH)
    school_account(THCS)
    mine = issued(THCS)[0]
    theirs = issued(TH)[0]
    reader = token(client, f"api-{THCS}")
    ok = client.get(f"{BASE}/records/{mine.record.record_id}", **auth(reader))
    assert ok.status_code == 200
    body = ok.json()
    assert body["version"] == mine.version
    assert base64.b64decode(body["xml_base64"]) == entry(mine).content
    assert (
        client.get(f"{BASE}/records/{theirs.record.record_id}", **auth(reader)).status_code == 403
    )
    unknown = client.get(f"{BASE}/records/{uuid.uuid4()}", **auth(reader))
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "NOT_FOUND"
    # the school may not list a student's records by personal ID at all
    personal_id = mine.record.student.personal_id
    listing = client.get(f"{BASE}/students/{personal_id}/records", **auth(reader))
    assert listing.status_code == 403
    assert listing.json()["error"]["code"] == "insufficient_scope"

    account(
        "so-25",
        Account.Kind.PROVINCE,
        province_code="25",
        province_office_code="25",
        tax_code="2600000000",
    )
    account(
        "so-01",
        Account.Kind.PROVINCE,
        province_code="01",
        province_office_code="01",
        tax_code="0100000000",
    )
    home, away = token(client, "so-25"), token(client, "so-01")
    assert client.get(f"{BASE}/records/{theirs.record.record_id}", **auth(home)).status_code == 200
    refused = client.get(f"{BASE}/records/{theirs.record.record_id}", **auth(away))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "OUT_OF_REACH"
    listed = client.get(f"{BASE}/students/{personal_id}/records", **auth(home)).json()
    assert [r["record_id"] for r in listed] == [str(mine.record.record_id)]
    assert client.get(f"{BASE}/students/{personal_id}/records", **auth(away)).json() == []
    stats_home = client.get(f"{BASE}/stats", **auth(home)).json()
    stats_away = client.get(f"{BASE}/stats", **auth(away)).json()
    assert stats_home[0]["accepted"] > 0
    assert stats_away[0]["accepted"] == 0
    school_stats = client.get(f"{BASE}/stats", **auth(reader)).json()
    assert {r["code"] for r in school_stats if r["level"] == "SCHOOL"} == {THCS}


def test_a_cancellation_request_needs_a_reason_and_a_record_in_reach(client, enabled, demo):
    school_account(THCS)
    value = token(client, f"api-{THCS}")
    mine = issued(THCS)[0]
    theirs = issued(TH)[0]
    url = f"{BASE}/records/{mine.record.record_id}/cancel-requests"
    empty = client.post(url, {"reason": "   "}, content_type="application/json", **auth(value))
    assert empty.status_code == 422
    done = client.post(
        url, {"reason": "Nhập nhầm học sinh"}, content_type="application/json", **auth(value)
    )
    assert done.status_code == 202 and done.json()["status"] == "PENDING"
    away = client.post(
        f"{BASE}/records/{theirs.record.record_id}/cancel-requests",
        {"reason": "x"},
        content_type="application/json",
        **auth(value),
    )
    assert away.status_code == 403


def test_the_openapi_document_describes_the_warehouse(client):
    schema = client.get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    assert "/api/v1/warehouse/packages" in paths
    assert (
        "application/xml" in paths["/api/v1/warehouse/packages"]["post"]["requestBody"]["content"]
    )
    assert "/api/v1/warehouse/oauth/token" in paths
