"""What the printable view (bản thể hiện) shows, computed from the signed XML and nothing else.

`view_of(xml, verify_base)` reads the record and its signatures and returns plain data (strings,
lists, dicts) in the words and number format of the paper học bạ: levels written out ("Khá"),
scores with the decimal comma ("8,3"), dates as dd/mm/yyyy, signers with role, time and
certificate serial. The typst template only lays this out. Pure: lxml + cryptography.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
from typing import Any

from hocba.formats import RecordSlots, Slot, parse_untrusted, slots_of, validate
from hocba.formats.model import Record, SubjectResult
from hocba.formats.parser import read
from hocba.identity.codes import ETHNICITIES, SEXES
from hocba.rules.labels import Award, Circular, PrimaryResult, Rating
from hocba.signing import profile
from hocba.signing.certs import common_name

VIEW_VERSION = "3"
"""Changes whenever the layout changes: a PDF states the version that drew it, so a verifier
knows whether re-drawing the embedded XML must give the same pages."""

VIETNAM = dt.timezone(dt.timedelta(hours=7))

TITLES = {
    "TH": "HỌC BẠ TIỂU HỌC",
    "THCS": "HỌC BẠ TRUNG HỌC CƠ SỞ",
    "THPT": "HỌC BẠ TRUNG HỌC PHỔ THÔNG",
}
CIRCULARS = {
    Circular.TT27.number: "(Ban hành kèm theo Thông tư số 27/2020/TT-BGDĐT ngày 04 tháng 9 năm "
    "2020 của Bộ trưởng Bộ Giáo dục và Đào tạo)",
    Circular.TT22.number: "(Mẫu ban hành kèm theo Thông tư số 22/2021/TT-BGDĐT ngày 20 tháng 7 "
    "năm 2021 của Bộ trưởng Bộ Giáo dục và Đào tạo)",
    Circular.TT43.number: "(Ban hành kèm theo Thông tư số 43/2021/TT-BGDĐT ngày 30 tháng 12 năm "
    "2021 của Bộ trưởng Bộ Giáo dục và Đào tạo)",
}
"""The line under the title: the circular whose model the record follows, by the number the
record cites."""
LEVELS = {r.value: r.label for r in Rating}
"""Learning and conduct levels (TT22, TT43)."""
PRIMARY_RESULTS = {r.value: r.label for r in PrimaryResult}
PRIMARY_AWARDS = {a.value: a.wording for a in (Award.XUAT_SAC, Award.TIEU_BIEU)}
SECONDARY_AWARDS = {a.value: a.wording for a in (Award.XUAT_SAC, Award.GIOI)}
QUALITIES = {
    "YEU_NUOC": "Yêu nước",
    "NHAN_AI": "Nhân ái",
    "CHAM_CHI": "Chăm chỉ",
    "TRUNG_THUC": "Trung thực",
    "TRACH_NHIEM": "Trách nhiệm",
}
GENERAL_COMPETENCIES = {
    "TU_CHU_TU_HOC": "Tự chủ và tự học",
    "GIAO_TIEP_HOP_TAC": "Giao tiếp và hợp tác",
    "GQVD_SANG_TAO": "Giải quyết vấn đề và sáng tạo",
}
SPECIFIC_COMPETENCIES = {
    "NGON_NGU": "Ngôn ngữ",
    "TINH_TOAN": "Tính toán",
    "KHOA_HOC": "Khoa học",
    "CONG_NGHE": "Công nghệ",
    "TIN_HOC": "Tin học",
    "THAM_MI": "Thẩm mĩ",
    "THE_CHAT": "Thể chất",
}
ROLES = {
    "GVBM": "Giáo viên môn học",
    "GVCN": "Giáo viên chủ nhiệm",
    "CBQL": "Hiệu trưởng",
    "KY_PHAT_HANH": "Chữ ký số của nhà trường",
}


def score(text: str) -> str:
    """A score as the học bạ prints it: the decimal comma ("8.3" → "8,3")."""
    return text.replace(".", ",")


def date_vi(value: dt.date | None) -> str:
    return "" if value is None else value.strftime("%d/%m/%Y")


def short_hash(xml: bytes) -> str:
    """The 12 hex digits of the XML's SHA-256 that the QR address and the footer carry."""
    return hashlib.sha256(xml).hexdigest()[:12]


def verify_address(base: str, record_id: str, version: int, xml: bytes) -> str:
    """Where anyone holding the printout checks this version of the record."""
    return f"{base.rstrip('/')}/{record_id}/{version}?h={short_hash(xml)}"


def signers(slots: RecordSlots) -> dict[str, list[dict[str, str]]]:
    """Who signed each slot, when, with which certificate (as written; verification is a
    separate step). Keys: GVBM:<subject id>, GVCN, CBQL, KY_PHAT_HANH."""
    found: dict[str, list[dict[str, str]]] = {}
    for slot in slots:
        key = f"GVBM:{slot.target}" if slot.name is Slot.GVBM else str(slot.name)
        for signature in slot.signatures:
            cert_text, time_text = profile.claims(signature)
            try:
                who, serial = _certificate_facts(cert_text)
                when = dt.datetime.fromisoformat(time_text.replace("Z", "+00:00"))
            except ValueError:
                continue
            found.setdefault(key, []).append(
                {
                    "role": ROLES.get(slot.name, slot.name),
                    "name": who,
                    "time": when.astimezone(VIETNAM).strftime("%H:%M %d/%m/%Y"),
                    "serial": serial,
                }
            )
    return found


@functools.lru_cache(maxsize=4096)
def _certificate_facts(cert_text: str) -> tuple[str, str]:
    """The signer's name and the certificate's serial number (hex), read once per
    certificate."""
    cert = profile.certificate_of(cert_text)
    return common_name(cert), format(cert.serial_number, "X")


def _subject(subject: SubjectResult, signed: dict[str, list[dict[str, str]]]) -> dict[str, Any]:
    return {
        "name": subject.name,
        "hk1": score(subject.hk1),
        "hk2": score(subject.hk2),
        "year": score(subject.year),
        "retake": score(subject.retake),
        "level": subject.level,
        "test": score(subject.test),
        "comment": subject.comment,
        "teacher": subject.teacher.full_name,
        "signed": signed.get(f"GVBM:{subject.element_id}", []),
    }


def _marks(codes: dict[str, str], marks: Any) -> list[dict[str, str]]:
    levels = {m.code: m.level for m in marks}
    return [{"name": name, "level": levels[code]} for code, name in codes.items() if code in levels]


def class_label(class_name: str, grade: int) -> str:
    """The class as the page names it: a pupil of a combined class ("1+2 TĐ") is shown with
    their own grade ("1+2 TĐ (lớp 2)"), which the class's name alone does not say."""
    if re.match(rf"{grade}(?![0-9+,-])", class_name):
        return class_name
    return f"{class_name} (lớp {grade})"


def view_of(xml: bytes, verify_base: str) -> tuple[dict[str, Any], dt.datetime]:
    """Everything the template prints for the record `xml` (signed or not), and the date the
    PDF carries (fixed, so drawing the same XML twice gives the same bytes): the time of the
    school's seal, else the record's creation date."""
    root = parse_untrusted(xml)
    validate(root)
    record: Record = read(root)
    slots = slots_of(root)
    signed = signers(slots)
    school, student, summary = record.school, record.student, record.summary
    envelope = record.envelope
    level = school.level
    continuing = level == "GDTX"
    programme = "THCS" if record.grade <= 9 else "THPT"
    learner = "học viên" if continuing else "học sinh"
    head = "Giám đốc" if continuing else "Hiệu trưởng"
    title = "HỌC BẠ HỌC VIÊN" if continuing else TITLES.get(level, "HỌC BẠ")
    subtitle = (
        "CHƯƠNG TRÌNH GIÁO DỤC THƯỜNG XUYÊN CẤP " + TITLES[programme].removeprefix("HỌC BẠ ")
        if continuing
        else ""
    )
    address = verify_address(verify_base, envelope.record_id, envelope.version, xml)
    awards = PRIMARY_AWARDS if level == "TH" else SECONDARY_AWARDS
    absences = summary.absences.removesuffix(".0").replace(".", ",")
    seal_times = [
        dt.datetime.fromisoformat(profile.claims(signature)[1].replace("Z", "+00:00"))
        for signature in slots.seal.signatures
    ]
    created = record.confirmation.created_on
    when = (
        max(seal_times)
        if seal_times
        else dt.datetime(created.year, created.month, created.day, tzinfo=dt.UTC)
    )
    return {
        "view_version": VIEW_VERSION,
        "level": level,
        "primary": level == "TH",
        "title": title,
        "subtitle": subtitle,
        "circular": CIRCULARS.get(envelope.circular, envelope.circular),
        "learner": learner,
        "Learner": learner.capitalize(),
        "head": head,
        "address": address,
        "record": {
            "id": envelope.record_id,
            "version": envelope.version,
            "event": envelope.event,
            "revoked": envelope.status == 2,
            # not yet issued: the last step (the seal; the principal for a revocation) is missing
            "preview": not signed.get("CBQL" if envelope.event == "CANCEL" else "KY_PHAT_HANH"),
            "reason": envelope.reason,
            "transcribed": envelope.transcribed,
            "hash": short_hash(xml),
            "school_year": envelope.school_year,
        },
        "school": {
            "name": school.name,
            "commune": school.commune_name,
            "province": school.province_name,
            "office": school.province_office_name,
            # as on the record's date; "" in records that do not carry them (their drawing
            # is then the one layout 3 always made)
            "authority": school.authority_name,
            "district": school.district_name,
            "code": school.code,
            "tax_code": school.tax_code,
        },
        "student": {
            "name": student.full_name,
            "sex": SEXES.get(student.sex, student.sex),
            "born": date_vi(student.date_of_birth),
            "ethnicity": ETHNICITIES.get(student.ethnicity, student.ethnicity),
            "nationality": "Việt Nam" if student.nationality == "VN" else student.nationality,
            "birthplace": student.birthplace.detail,
            "hometown": student.hometown.detail,
            "address": student.current_address.detail,
            "register_no": student.register_no,
            "father": student.father_name,
            "father_job": student.father_occupation,
            "mother": student.mother_name,
            "mother_job": student.mother_occupation,
            "guardian": student.guardian_name,
            "guardian_job": student.guardian_occupation,
            "policy": student.policy_category,
        },
        "history": [
            {
                "year": row.school_year,
                "class": row.class_name,
                "school": row.school_name,
                "province": row.province_name,
                "joined": date_vi(row.date_joined),
            }
            for row in record.history
        ],
        "class": class_label(record.class_name, record.grade),
        "grade": record.grade,
        "subjects": [_subject(s, signed) for s in record.subjects],
        "summary": {
            "learning": [
                LEVELS.get(v, v)
                for v in (summary.learning_hk1, summary.learning_hk2, summary.learning_year)
            ],
            "conduct": [
                LEVELS.get(v, v)
                for v in (summary.conduct_hk1, summary.conduct_hk2, summary.conduct_year)
            ],
            "learning_again": LEVELS.get(summary.learning_after_retake, ""),
            "conduct_again": LEVELS.get(summary.conduct_after_summer, ""),
            "absences": absences,
            "outcome": summary.outcome_text,
            "comment": summary.homeroom_comment,
            "result": PRIMARY_RESULTS.get(summary.primary_result, summary.primary_result),
            "qualities": _marks(QUALITIES, summary.qualities),
            "general": _marks(GENERAL_COMPETENCIES, summary.competencies),
            "specific": _marks(SPECIFIC_COMPETENCIES, summary.competencies),
            "qualities_comment": summary.qualities_comment,
            "competencies_comment": summary.competencies_comment,
            "award": awards.get(summary.award_title, summary.award_title),
            "awards": summary.awards,
            "certificates": list(summary.certificates),
            "contests": summary.contests,
        },
        "homeroom": record.confirmation.homeroom_teacher.full_name,
        "principal": record.confirmation.principal.full_name,
        "principal_title": record.confirmation.principal.position or head,
        "place": record.confirmation.place,
        "created_on": date_vi(record.confirmation.created_on),
        "signed": {key: value for key, value in signed.items() if not key.startswith("GVBM:")},
    }, when
