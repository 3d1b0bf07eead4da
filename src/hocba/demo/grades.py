"""The demo's grade book: every class's subjects, assessments entered by the assigned teachers,
homeroom data and summer results, such that every outcome of the rules occurs: awards,
the Điều 9 khoản 3 adjustment, re-assessment, summer training, retention, primary CHT."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from hocba.gradebook.compute import recompute, subjects_of_grade
from hocba.gradebook.models import Assessment, ClassSubject, HomeroomRecord, Kind, Term
from hocba.organizations.models import ClassGroup, Role, RoleAssignment
from hocba.rules.catalogue import CATALOGUE, Level
from hocba.rules.labels import Outcome
from hocba.rules.primary import QUALITIES, competencies_for

#: Special students, by their position in their school's list (the rest are ordinary).
SECONDARY_PROFILES = (
    "excellent", "adjusted", "retake_passed", "summer_training", "absent", "retake_failed",
    "good",
)  # fmt: skip
PRIMARY_PROFILES = ("htxs", "cht", "tieu_bieu")
COMMENTS = (
    "Ngoan, lễ phép, chăm chỉ học tập; cần mạnh dạn hơn khi phát biểu.",
    "Có ý thức tự giác, hòa đồng với bạn bè; cần cẩn thận hơn khi làm bài.",
    "Tích cực tham gia các hoạt động của lớp, tiến bộ rõ trong học kì II.",
    "Học tập chăm chỉ, trung thực; cần rèn thêm kĩ năng trình bày.",
)
REMARKS = (
    "Nắm vững kiến thức, vận dụng tốt.",
    "Tiếp thu bài khá, cần luyện tập thêm.",
    "Có tiến bộ, cần chú ý hơn trong giờ học.",
    "Chăm chỉ, tích cực phát biểu xây dựng bài.",
)


def _score(rng: random.Random, target: float, spread: float = 1.2) -> Decimal:
    value = min(10.0, max(0.0, rng.uniform(target - spread, target + spread)))
    return Decimal(round(value * 2) / 2).quantize(Decimal("0.1"))


def _targets(profile: str, codes: list[str], rng: random.Random) -> dict[str, tuple[float, float]]:
    """(target, spread) of each scored subject's scores for a profile."""
    base = rng.uniform(6.2, 8.6)
    targets = {c: (min(9.4, max(6.0, base + rng.uniform(-0.8, 0.8))), 1.0) for c in codes}
    if profile == "excellent":
        targets = dict.fromkeys(codes, (9.7, 0.3))
    elif profile == "good":
        targets = dict.fromkeys(codes, (8.4, 0.3))
    elif profile == "adjusted":
        targets = dict.fromkeys(codes, (9.0, 0.4))
        targets[codes[-1]] = (2.5, 0.4)
    elif profile in ("retake_passed", "retake_failed"):
        targets = dict.fromkeys(codes, (6.8, 0.4))
        for code in codes[-3:]:
            targets[code] = (3.8, 0.4)
    return targets


def _secondary_student(
    rng: random.Random, profile: str, subjects: list[ClassSubject], rows: list[dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Assessments (appended to `rows`) and the homeroom record's values."""
    scored = [cs.subject_code for cs in subjects if cs.scored]
    targets = _targets(profile, scored, rng)
    retake: dict[str, str] = {}
    for cs in subjects:
        for term in (Term.HK1, Term.HK2):
            if cs.scored:
                target, spread = targets[cs.subject_code]
                for seq in range(1, cs.regular_count + 1):
                    rows.append(dict(cs=cs, term=term, kind=Kind.TX, seq=seq,
                                     score=_score(rng, target, spread)))  # fmt: skip
                for kind in (Kind.GK, Kind.CK):
                    rows.append(dict(cs=cs, term=term, kind=kind, seq=1,
                                     score=_score(rng, target, spread)))  # fmt: skip
            else:
                fail = profile == "ordinary" and rng.random() < 0.02
                for seq in range(1, cs.regular_count + 1):
                    rows.append(dict(cs=cs, term=term, kind=Kind.TX, seq=seq, code="Đ"))
                rows.append(dict(cs=cs, term=term, kind=Kind.GK, seq=1, code="Đ"))
                rows.append(dict(cs=cs, term=term, kind=Kind.CK, seq=1, code="CĐ" if fail else "Đ"))
        if profile in ("retake_passed", "retake_failed") and cs.subject_code in scored[-3:]:
            score = Decimal("6.0") if profile == "retake_passed" else Decimal("3.0")
            rows.append(dict(cs=cs, term=Term.SUMMER, kind=Kind.RETAKE, seq=1, score=score))
            retake[cs.subject_code] = str(score)
    conduct = rng.choices(("T", "K", "Đ"), weights=(60, 35, 5), k=2)
    if profile in ("excellent", "good", "adjusted"):
        conduct = ["T", "T"]
    values: dict[str, Any] = {
        "conduct_hk1": conduct[0],
        "conduct_hk2": conduct[1],
        "absences": Decimal(rng.choice((0, 0, 0, 1, 2, 3, 5))),
        "comment": rng.choice(COMMENTS),
    }
    if profile == "summer_training":
        values.update(conduct_hk1="K", conduct_hk2="CĐ", summer_conduct="Đ")
    if profile == "absent":
        values["absences"] = Decimal(50)
    return values, retake


def _primary_student(
    rng: random.Random, profile: str, grade: int, subjects: list[ClassSubject],
    rows: list[dict[str, Any]],
) -> dict[str, Any]:  # fmt: skip
    for cs in subjects:
        known = CATALOGUE.get((Level.TH, cs.subject_code))
        tested = known is not None and grade in known.periodic_test_grades
        level = rng.choices(("T", "H"), weights=(60, 40))[0]
        test = rng.randint(6, 10)
        if profile == "htxs":
            level, test = "T", rng.randint(9, 10)
        elif profile == "tieu_bieu":
            level, test = "T", 8
        elif profile == "cht" and cs.subject_code == "TOAN":
            level, test = "C", 4
        elif level == "T":
            test = max(test, 7)
        for term in (Term.HK1, Term.HK2):
            rows.append(dict(cs=cs, term=term, kind=Kind.LEVEL, seq=1, code=level))
            if tested:
                rows.append(dict(cs=cs, term=term, kind=Kind.TEST, seq=1, score=Decimal(test)))
    good = profile in ("htxs", "tieu_bieu")
    marks = {
        code: "T" if good else rng.choices(("T", "Đ"), weights=(65, 35))[0]
        for code in (*QUALITIES, *competencies_for(grade))
    }
    return {
        "qualities": {q: marks[q] for q in QUALITIES},
        "competencies": {c: marks[c] for c in competencies_for(grade)},
        "outstanding": profile == "tieu_bieu",
        "absences": Decimal(rng.choice((0, 0, 1, 2))),
        "comment": rng.choice(COMMENTS),
        "qualities_comment": "Ngoan, lễ phép, đoàn kết với bạn bè.",
        "competencies_comment": "Biết tự học, hợp tác tốt trong nhóm.",
        "conduct_hk1": "",
        "conduct_hk2": "",
    }


def build_grades(demo: Any) -> None:
    rng = random.Random(f"{demo.seed}-grades")
    current = demo.years["2024-2025"]
    teachers = {
        (a.class_group_id, a.subject_code): a.staff.user
        for a in RoleAssignment.objects.filter(
            role=Role.SUBJECT_TEACHER, class_group__school_year=current
        ).select_related("staff__user")
    }
    homeroom = {
        a.class_group_id: a.staff.user
        for a in RoleAssignment.objects.filter(
            role=Role.HOMEROOM_TEACHER, class_group__school_year=current
        ).select_related("staff__user")
    }
    assessments: list[Assessment] = []
    records: list[HomeroomRecord] = []
    groups = [(key, students, False) for key, students in demo.students_by_school.items()]
    # The pupils of combined classes last, from a generator of their own (see build_students),
    # so that the rest of the demo is the same with or without them.
    for student in demo.combined_students:
        class_group = student.enrolments.get(class_group__school_year=current).class_group
        key = next(k for k, s in demo.schools.items() if s.pk == class_group.school_id)
        groups.append((key, [student], True))
    combined_rng = random.Random(f"{demo.seed}-grades-combined")
    subjects: dict[int, list[ClassSubject]] = {}
    for key, students, combined in groups:
        if combined:
            rng = combined_rng
        school = demo.schools[key]
        classes = {c.pk: c for c in ClassGroup.objects.filter(school=school, school_year=current)}
        for class_group in classes.values():
            if class_group.pk in subjects:
                continue
            codes = sorted(code for (cg, code) in teachers if cg == class_group.pk)
            ordered = [
                s.code for s in (CATALOGUE[k] for k in CATALOGUE
                                 if k[0] == Level(class_group.level) and k[1] in codes)
            ]  # fmt: skip
            made = [ClassSubject.from_catalogue(class_group, c, i) for i, c in enumerate(ordered)]
            subjects[class_group.pk] = ClassSubject.objects.bulk_create(made)
        profiles = PRIMARY_PROFILES if school.levels == [Level.TH] else SECONDARY_PROFILES
        for index, student in enumerate(students):
            enrolment = next(e for e in student.enrolments.all() if e.class_group_id in classes)
            class_group = classes[enrolment.class_group_id]
            grade = enrolment.grade or class_group.grade
            ordinary = combined or index >= len(profiles)
            profile = "ordinary" if ordinary else profiles[index]
            rows: list[dict[str, Any]] = []
            if class_group.level == Level.TH:
                studied = subjects_of_grade(subjects[class_group.pk], grade)
                values = _primary_student(rng, profile, grade, studied, rows)
            else:
                values, _ = _secondary_student(rng, profile, subjects[class_group.pk], rows)
            for row in rows:
                cs = row["cs"]
                assessments.append(
                    Assessment(
                        class_subject=cs,
                        student=student,
                        term=row["term"],
                        kind=row["kind"],
                        seq=row["seq"],
                        score=row.get("score"),
                        code=row.get("code", ""),
                        entered_by=teachers[(class_group.pk, cs.subject_code)],
                    )
                )
            records.append(
                HomeroomRecord(
                    class_group=class_group,
                    student=student,
                    updated_by=homeroom[class_group.pk],
                    **values,
                )
            )
    Assessment.objects.bulk_create(assessments, batch_size=2000)
    HomeroomRecord.objects.bulk_create(records, batch_size=1000)
    for class_group in ClassGroup.objects.filter(school_year=current):
        recompute(class_group)
    demo.add_count("assessments", len(assessments))
    demo.add_count("homeroom records", len(records))


def build_all_records(demo: Any) -> None:
    """The principal decides for students the rules leave to them, then drafts every record."""
    from hocba.gradebook.models import YearResult
    from hocba.gradebook.services import decide_promotion
    from hocba.records.services import build_records

    current = demo.years["2024-2025"]
    for result in YearResult.objects.filter(
        class_group__school_year=current, outcome=Outcome.PENDING_DECISION
    ).select_related("class_group", "student"):
        principal = RoleAssignment.objects.get(
            role=Role.PRINCIPAL, school=result.class_group.school
        ).staff.user
        decide_promotion(principal, result.class_group, result.student, Outcome.PROMOTED)
    created = refused = 0
    for school in demo.schools.values():
        principal = RoleAssignment.objects.get(role=Role.PRINCIPAL, school=school).staff.user
        report = build_records(principal, school, current)
        created += len(report.created)
        refused += len(report.refused)
    demo.add_count("records drafted", created)
    demo.add_count("records refused (identity problems)", refused)


def build_pki(demo: Any) -> None:
    from hocba.signing.dev.tokens import ensure_dev_pki

    summary = ensure_dev_pki()
    demo.add_count("certificates (personal)", summary.people)
    demo.add_count("certificates (organisation)", summary.organisations)


def sign_all_records(demo: Any) -> None:
    """Every record signed through the four steps with the staff's PKCS#11 keys, then issued."""
    from hocba.records.models import RecordVersion, State
    from hocba.signing.dev.tokens import org_label, token_signer
    from hocba.signing.services import sign_records

    signatures = issued = 0
    for school in demo.schools.values():
        drafts = list(
            RecordVersion.objects.filter(
                record__school=school, state__in=[State.DRAFT, State.SIGNING]
            )
            .select_related("record__class_group", "record__school")
            .order_by("record__class_group__name", "record__student__full_name")
        )
        if not drafts:
            continue
        steps: list[tuple[str, Any, str, list[Any]]] = []
        teachers: dict[int, Any] = {}
        for a in RoleAssignment.objects.filter(
            role=Role.SUBJECT_TEACHER, class_group__school=school, active=True
        ).select_related("staff__user"):
            teachers.setdefault(a.staff_id, (a.staff, set()))[1].add(a.class_group_id)
        for person, classes in teachers.values():
            mine = [v for v in drafts if v.record.class_group_id in classes]
            steps.append(("GVBM", person.user, person.personal_id, mine))
        for a in RoleAssignment.objects.filter(
            role=Role.HOMEROOM_TEACHER, class_group__school=school, active=True
        ).select_related("staff__user"):
            mine = [v for v in drafts if v.record.class_group_id == a.class_group_id]
            steps.append(("GVCN", a.staff.user, a.staff.personal_id, mine))
        principal = RoleAssignment.objects.get(role=Role.PRINCIPAL, school=school).staff
        keeper = RoleAssignment.objects.get(role=Role.SEAL_KEEPER, school=school).staff
        steps.append(("CBQL", principal.user, principal.personal_id, drafts))
        steps.append(("KY_PHAT_HANH", keeper.user, org_label(school), drafts))
        for slot, user, label, versions in steps:
            if not versions:
                continue
            signer = token_signer(school, label)
            try:
                report = sign_records(user, versions, slot, signer)
            finally:
                signer.close()
            signatures += report.signatures
            issued += len(report.issued)
    demo.add_count("signatures (PKCS#11)", signatures)
    demo.add_count("records issued", issued)


def seal_all_documents(demo: Any) -> None:
    """The printable view of every issued record, drawn and sealed with the school's key."""
    from hocba.documents.services import DRAWN_STATES, seal_with_school_keys
    from hocba.records.models import RecordVersion

    versions = (
        RecordVersion.objects.filter(record__school__in=demo.schools.values())
        .filter(state__in=DRAWN_STATES)
        .select_related("record__school")
        .order_by("record__school__code", "record__class_group__name", "record__student__full_name")
    )
    demo.add_count("PDF views sealed", len(seal_with_school_keys(None, versions).done))


def submit_to_warehouse(demo: Any) -> None:
    """Every issued record sent to the embedded warehouse (the Sở's Kho học bạ số): one account
    per school, packages sealed with the school's key, every record answered. With a remote
    upstream configured (HOCBA_UPSTREAM_URL) the outbox is left for `hocba exchange send`."""
    import secrets

    from django.conf import settings

    if settings.UPSTREAM_URL and settings.UPSTREAM_URL != "embedded":
        return

    from hocba.exchange.models import OutboxItem
    from hocba.exchange.services import send_all, set_credential
    from hocba.warehouse.auth import create_account
    from hocba.warehouse.embedded import EmbeddedClient
    from hocba.warehouse.models import Account

    for school in demo.schools.values():
        secret = secrets.token_urlsafe(24)
        client_id = f"truong-{school.code}"
        create_account(
            client_id,
            secret,
            school.name,
            Account.Kind.SCHOOL,
            province_code=school.province_code,
            province_office_code=school.province_office.code,
            school_code=school.code,
            tax_code=school.tax_code,
        )
        set_credential(school.code, client_id, secret)
    send_all(EmbeddedClient(), pause=0)
    items = OutboxItem.objects.filter(school_code__in=[s.code for s in demo.schools.values()])
    demo.add_count("records accepted by the warehouse", items.filter(state="ACCEPTED").count())
