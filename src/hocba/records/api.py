"""Records over the API: read-only. Versions change only through the record services."""

from __future__ import annotations

import datetime as dt

from django.http import Http404, HttpRequest, HttpResponse
from ninja import Router, Schema

from hocba.records.services import read_xml, visible_record

router = Router(tags=["records"])


class VersionOut(Schema):
    version: int
    event: str
    status: int
    state: str
    sha256: str
    reason: str
    created_at: dt.datetime
    issued_at: dt.datetime | None


class RecordOut(Schema):
    record_id: str
    student_code: str
    school: str
    school_year: str
    class_name: str
    versions: list[VersionOut]


@router.get("/records/{record_id}", response=RecordOut)
def get_record(request: HttpRequest, record_id: str) -> dict[str, object]:
    record = visible_record(request.user, record_id)
    return {
        "record_id": str(record.record_id),
        "student_code": record.student.student_code,
        "school": record.school.code,
        "school_year": record.school_year.name,
        "class_name": record.class_group.name,
        "versions": [
            {
                "version": v.version,
                "event": v.event,
                "status": v.status,
                "state": v.state,
                "sha256": v.xml_sha256,
                "reason": v.reason,
                "created_at": v.created_at,
                "issued_at": v.issued_at,
            }
            for v in record.versions.order_by("version")
        ],
    }


@router.get("/records/{record_id}/versions/{version}.xml")
def get_version_xml(request: HttpRequest, record_id: str, version: int) -> HttpResponse:
    record = visible_record(request.user, record_id)
    found = record.versions.filter(version=version).first()
    if found is None:
        raise Http404
    return HttpResponse(read_xml(found), content_type="application/xml; charset=utf-8")
