"""What waits for the signed-in user's signature, signing it from the browser, and what follows
a signing batch that issued records (their printable views, drawn by a background task)."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from hocba.gradebook.models import ClassSubject
from hocba.organizations.models import Role, RoleAssignment
from hocba.records.models import Event, RecordVersion, State
from hocba.rules.labels import Award, Outcome
from hocba.signing.services import pending_slots, prepare_batch, sign_records
from hocba.signing.signers import ProvidedSigner
from hocba.workflow.models import SigningSession

SESSION_MINUTES = 30
CHUNK = 25


@dataclass
class Group:
    """Records waiting for one signature step of this user."""

    slot: str
    key: str
    title: str
    subject_code: str = ""
    versions: list[RecordVersion] = field(default_factory=list)
    school_code: str = ""


def pending(version: RecordVersion) -> dict[str, Any]:
    key = f"pending:{version.xml_sha256}"
    found = cache.get(key)
    if found is None:
        found = pending_slots(version)
        cache.set(key, found, 3600)
    return found  # type: ignore[no-any-return]


def _drafts(**scope: Any) -> list[RecordVersion]:
    return list(
        RecordVersion.objects.filter(state__in=(State.DRAFT, State.SIGNING), **scope)
        .select_related("record__student", "record__class_group", "record__school")
        .order_by("record__class_group__name", "record__student__full_name")
    )


def _slot_keys(a: RoleAssignment) -> dict[str, str]:
    """The signing groups one role assignment makes the user's: signing slot → group key."""
    keys = {}
    if a.role == Role.SUBJECT_TEACHER and a.class_group_id:
        keys["GVBM"] = f"GVBM-{a.class_group_id}-{a.subject_code}"
    elif a.role == Role.HOMEROOM_TEACHER and a.class_group_id:
        keys["GVCN"] = f"GVCN-{a.class_group_id}"
    elif a.role == Role.PRINCIPAL and a.school_id:
        keys["CBQL"] = f"CBQL-{a.school_id}"
    if a.role in (Role.SEAL_KEEPER, Role.PRINCIPAL) and a.school_id:
        keys["KY_PHAT_HANH"] = f"KY-{a.school_id}"
    return keys


def waiting_for(user: Any) -> list[Group]:
    staff = getattr(user, "staff", None)
    if staff is None:
        return []
    groups: list[Group] = []
    assignments = RoleAssignment.objects.filter(staff=staff, active=True).select_related(
        "class_group", "school"
    )
    for a in assignments:
        keys = _slot_keys(a)
        if "GVBM" in keys:
            cs = ClassSubject.objects.filter(
                class_group_id=a.class_group_id, subject_code=a.subject_code
            ).first()
            name = cs.name if cs is not None else a.subject_code
            title = _("%(subject)s — class %(name)s") % {
                "subject": name,
                "name": a.class_group.name,
            }
            group = Group("GVBM", keys["GVBM"], title, a.subject_code)
            for v in _drafts(record__class_group_id=a.class_group_id):
                if v.event != Event.CANCEL and a.subject_code in pending(v)["GVBM"]:
                    group.versions.append(v)
            groups.append(group)
        elif "GVCN" in keys:
            title = _("Homeroom class %(name)s") % {"name": a.class_group.name}
            group = Group("GVCN", keys["GVCN"], title)
            for v in _drafts(record__class_group_id=a.class_group_id):
                p = pending(v)
                if v.event != Event.CANCEL and not p["GVBM"] and p["GVCN"]:
                    group.versions.append(v)
            groups.append(group)
        elif "CBQL" in keys:
            title = _("Principal — %(school)s") % {"school": a.school.name}
            principal = Group("CBQL", keys["CBQL"], title, school_code=a.school.code)
            for v in _drafts(record__school_id=a.school_id):
                p = pending(v)
                if p["CBQL"] and (v.event == Event.CANCEL or not p["GVCN"]):
                    principal.versions.append(v)
            groups.append(principal)
        if "KY_PHAT_HANH" in keys:
            title = _("Issue with the school's certificate — %(school)s") % {
                "school": a.school.name
            }
            seal = Group("KY_PHAT_HANH", keys["KY_PHAT_HANH"], title, school_code=a.school.code)
            for v in _drafts(record__school_id=a.school_id):
                p = pending(v)
                if v.event != Event.CANCEL and not p["CBQL"] and p["KY_PHAT_HANH"]:
                    seal.versions.append(v)
            if a.role == Role.SEAL_KEEPER or seal.versions:
                groups.append(seal)
    return groups


def group_keys(user: Any) -> set[str]:
    """The keys of every group the user's roles make theirs, with or without work waiting."""
    staff = getattr(user, "staff", None)
    if staff is None:
        return set()
    assignments = RoleAssignment.objects.filter(staff=staff, active=True)
    return {key for a in assignments for key in _slot_keys(a).values()}


def group_of(user: Any, key: str) -> Group | None:
    return next((g for g in waiting_for(user) if g.key == key), None)


def start(user: Any, group: Group, certificate_der: bytes) -> tuple[SigningSession, list[str]]:
    """Prepare the digests of the whole group at one signing time."""
    certificate = x509.load_der_x509_certificate(certificate_der)
    now = timezone.now().replace(microsecond=0)
    digests, report = prepare_batch(
        user, group.versions, group.slot, certificate, now, group.subject_code or None
    )
    session = SigningSession.objects.create(
        user=user,
        slot=group.slot,
        subject_code=group.subject_code,
        certificate=base64.b64encode(certificate_der).decode(),
        signing_time=now,
        digests={
            str(pk): [base64.b64encode(d).decode() for d in values]
            for pk, values in digests.items()
        },
        failed=[
            {"version": v.pk, "code": code, "message": message}
            for v, code, message in report.failed
        ],
    )
    flat = [d for values in session.digests.values() for d in values]
    return session, flat


def complete(
    session: SigningSession, values: dict[str, str], request: Any = None
) -> SigningSession:
    """Embed the next chunk of the session's records with the values the browser returned
    (digest → value, base64)."""
    if session.created_at < timezone.now() - dt.timedelta(minutes=SESSION_MINUTES):
        raise ValueError("Phiên ký đã hết hạn; hãy ký lại")
    waiting = [pk for pk in session.digests if pk not in set(map(str, session.done))]
    chunk = waiting[:CHUNK]
    versions = list(RecordVersion.objects.filter(pk__in=[int(pk) for pk in chunk]))
    certificate = x509.load_der_x509_certificate(base64.b64decode(session.certificate))
    provided = {base64.b64decode(k): base64.b64decode(v) for k, v in values.items()}
    report = sign_records(
        session.user,
        versions,
        session.slot,
        ProvidedSigner(certificate, provided),
        subject_code=session.subject_code or None,
        now=session.signing_time,
        request=request,
    )
    session.done = [*session.done, *chunk]
    session.signed += len(report.signed)
    session.failed = [
        *session.failed,
        *({"version": v.pk, "code": c, "message": m} for v, c, m in report.failed),
    ]
    session.save(update_fields=["done", "signed", "failed"])
    return session


def draw_issued(user: Any, versions: Iterable[RecordVersion]) -> list[Any]:
    """The end of a signing batch: the versions it issued get their sealed PDF views from
    background tasks, one render batch per class (the workers share a school's classes, and
    each class gets its ZIP and print copy), enqueued when the caller's transaction commits
    (schools without an organisation certificate have no seal, and no batch)."""
    from hocba.documents.services import DRAWN_STATES, start_render

    by_class: dict[int, list[RecordVersion]] = {}
    for version in versions:
        if version.state in DRAWN_STATES and version.event != Event.CANCEL:
            by_class.setdefault(version.record.class_group_id, []).append(version)
    return [
        start_render(
            user, group[0].record.school, class_group=group[0].record.class_group, versions=group
        )
        for group in by_class.values()
        if group[0].record.school.tax_code
    ]


def issued_by(session: SigningSession) -> list[RecordVersion]:
    """The versions a finished seal-keeper session issued."""
    if session.slot != "KY_PHAT_HANH":
        return []
    return list(
        RecordVersion.objects.filter(
            pk__in=[int(pk) for pk in session.digests], state=State.ISSUED
        ).select_related("record__school")
    )


STEPS = ("GVBM", "GVCN", "CBQL", "KY_PHAT_HANH")


def school_progress(school: Any, school_year: Any) -> list[dict[str, Any]]:
    """Per class: records, and how many wait at each signing step or are issued."""
    from hocba.records.models import Record

    rows = []
    classes = school.classes.filter(school_year=school_year).order_by("grade", "name")
    for class_group in classes:
        row: dict[str, Any] = {"class": class_group, "records": 0, "issued": 0}
        row.update(dict.fromkeys(STEPS, 0))
        latest_of: dict[int, RecordVersion] = {}
        for version in RecordVersion.objects.filter(record__class_group=class_group).order_by(
            "record_id", "-version"
        ):
            latest_of.setdefault(version.record_id, version)
        row["records"] = Record.objects.filter(class_group=class_group).count()
        for latest in latest_of.values():
            if latest.state in (State.ISSUED, State.SUPERSEDED, State.REVOKED):
                row["issued"] += 1
                continue
            p = pending(latest)
            if latest.event != Event.CANCEL and p["GVBM"]:
                row["GVBM"] += 1
            elif latest.event != Event.CANCEL and p["GVCN"]:
                row["GVCN"] += 1
            elif p["CBQL"]:
                row["CBQL"] += 1
            else:
                row["KY_PHAT_HANH"] += 1
        row["percent"] = round(100 * row["issued"] / row["records"]) if row["records"] else 0
        rows.append(row)
    return rows


def signatures_per_day(school: Any, days: int = 30) -> list[tuple[dt.date, int]]:
    """How many signing actions were saved each day (the audit log), the last `days` days."""
    from django.db.models import Count
    from django.db.models.functions import TruncDate

    from hocba.audit.models import AuditEvent

    since = timezone.now() - dt.timedelta(days=days)
    ids = [
        str(pk)
        for pk in RecordVersion.objects.filter(record__school=school).values_list("pk", flat=True)
    ]
    counts = (
        AuditEvent.objects.filter(
            action__startswith="records.sign.",
            object_type="records.RecordVersion",
            object_id__in=ids,
            at__gte=since,
        )
        .annotate(day=TruncDate("at"))
        .values("day")
        .annotate(n=Count("pk"))
        .order_by("day")
    )
    return [(row["day"], row["n"]) for row in counts]


COLOURS = {
    Outcome.PROMOTED: "#1a7f37",
    Outcome.COMPLETED: "#1a7f37",
    Outcome.PROMOTED_AFTER_SUMMER: "#0b5fa5",
    Outcome.PENDING_SUMMER: "#b7791f",
    Outcome.PENDING_DECISION: "#6b7280",
    Outcome.RETAINED: "#b42318",
}


def outcomes(school: Any, school_year: Any) -> dict[str, Any]:
    """End-of-year outcomes and awards per class (the grade book's computed results), with the
    bars of a stacked chart."""
    from hocba.gradebook.models import YearResult

    language = get_language()
    results = (
        YearResult.objects.filter(class_group__school=school, class_group__school_year=school_year)
        .exclude(outcome="")
        .select_related("class_group")
    )
    per_class: dict[str, dict[Outcome, int]] = {}
    awards: dict[str, dict[Award, int]] = {}
    for result in results:
        year, name = result.year_outcome, result.class_group.name
        if year.outcome is not None:
            counts = per_class.setdefault(name, {})
            counts[year.outcome] = counts.get(year.outcome, 0) + 1
        if year.award is not None:
            won = awards.setdefault(name, {})
            won[year.award] = won.get(year.award, 0) + 1
    labels = {k: k.label_in(language) for k in Outcome}
    present = [k for k in Outcome if any(k in c for c in per_class.values())]
    top = max([sum(c.values()) for c in per_class.values()] + [1])
    rows = []
    for i, name in enumerate(sorted(per_class)):
        counts, x, segments = per_class[name], 60, []
        for key in present:
            width = round(420 * counts.get(key, 0) / top)
            if width:
                segments.append({"x": x, "width": width, "colour": COLOURS.get(key, "#999"),
                                 "label": labels[key], "n": counts[key]})  # fmt: skip
            x += width
        rows.append(
            {
                "name": name,
                "counts": [counts.get(k, 0) for k in present],
                "awards": ", ".join(
                    f"{a.label_in(language)}: {n}" for a, n in sorted(awards.get(name, {}).items())
                ),
                "y": 8 + i * 26,
                "text_y": 22 + i * 26,
                "segments": segments,
            }
        )
    return {
        "columns": [(k, labels[k], COLOURS.get(k, "#999")) for k in present],
        "rows": rows,
        "height": 16 + 26 * len(rows),
    }
