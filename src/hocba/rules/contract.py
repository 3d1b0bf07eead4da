"""The rules engine as JSON in, JSON out (`docs/contracts/rules-evaluate.md`).

`evaluate(data)` validates the whole input first and raises `RulesInputError` (code, Vietnamese
message, path such as `subjects[2].hk1.tx[3]`) for the first problem; then it calls the pure
engines in `secondary` and `primary` and shapes their results as the contract says.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from hocba.rules import catalogue
from hocba.rules.catalogue import Level, Mode, regular_assessment_count
from hocba.rules.labels import Circular, QualityLevel, Rating, SubjectLevel
from hocba.rules.options import Options
from hocba.rules.outcome import mark_text
from hocba.rules.primary import (
    QUALITIES,
    PrimarySubject,
    PrimaryYear,
    competencies_for,
    evaluate_primary,
)
from hocba.rules.scores import has_at_most_one_decimal, in_range, to_decimal
from hocba.rules.secondary import (
    CommentAssessments,
    ScoreAssessments,
    SemesterValue,
    StudentYear,
    SubjectYear,
    comment_semester,
    conduct_year,
    evaluate_year,
    semester_average,
    subject_year,
)


class RulesInputError(ValueError):
    """Input the engine cannot evaluate; `as_json()` is the contract's error object."""

    def __init__(self, code: str, message: str, path: str = "") -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.code = code
        self.message = message
        self.path = path

    def as_json(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "path": self.path}}


_RATINGS = {"T": Rating.T, "K": Rating.K, "Đ": Rating.D, "D": Rating.D, "CĐ": Rating.CD,
            "CD": Rating.CD}  # fmt: skip
_SECONDARY_LEVELS = {
    Circular.TT22: {"THCS": Level.THCS, "THPT": Level.THPT},
    Circular.TT43: {"THCS": Level.GDTX, "THPT": Level.GDTX, "GDTX": Level.GDTX},
}
_GRADES = {"THCS": range(6, 10), "THPT": range(10, 13), "GDTX": range(6, 13), "TH": range(1, 6)}
_SECONDARY_KEYS = {
    "regulation", "level", "grade", "subjects", "conduct", "absences", "summer_conduct",
    "retake", "options", "disability_plan",
}  # fmt: skip
_SUBJECT_KEYS = {"code", "mode", "periods_per_year", "hk1", "hk2", "year", "exempt", "name"}
_PRIMARY_KEYS = {
    "regulation", "level", "grade", "subjects", "qualities", "competencies", "outstanding",
    "disability_plan",
}  # fmt: skip


def _norm(value: object) -> str | None:
    """A code as typed, made comparable: NFC, trimmed, upper case; None when not a string."""
    return unicodedata.normalize("NFC", value.strip()).upper() if isinstance(value, str) else None


def _object(value: object, path: str, allowed: set[str] | None = None) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise RulesInputError("NOT_AN_OBJECT", "Cần một đối tượng JSON", path)
    if allowed is not None:
        for key in value:
            if key not in allowed:
                where = f"{path}.{key}" if path else str(key)
                raise RulesInputError("UNKNOWN_FIELD", f"Trường “{key}” không được hỗ trợ", where)
    return value


def _score(value: object, path: str) -> Decimal:
    number = to_decimal(value)
    if number is None:
        raise RulesInputError("SCORE_NOT_A_NUMBER", f"Điểm “{value}” không phải là số", path)
    if not in_range(number):
        raise RulesInputError("SCORE_OUT_OF_RANGE", f"Điểm {value} ngoài khoảng 0–10", path)
    if not has_at_most_one_decimal(number):
        raise RulesInputError(
            "SCORE_TOO_PRECISE", f"Điểm {value} có nhiều hơn một chữ số thập phân", path
        )
    return number


def _rating(value: object, path: str) -> Rating:
    rating = _RATINGS.get(_norm(value) or "")
    if rating is None:
        raise RulesInputError(
            "INVALID_LEVEL_CODE", f"Mức “{value}” không hợp lệ; dùng T, K, Đ hoặc CĐ", path
        )
    return rating


def _pass_fail(value: object, path: str) -> bool:
    rating = _RATINGS.get(_norm(value) or "")
    if rating not in (Rating.D, Rating.CD):
        raise RulesInputError(
            "INVALID_LEVEL_CODE",
            f"Mức “{value}” không hợp lệ cho môn đánh giá bằng nhận xét; dùng Đ hoặc CĐ",
            path,
        )
    return rating is Rating.D


def _bool(value: object, path: str) -> bool:
    if not isinstance(value, bool):
        raise RulesInputError("NOT_A_BOOLEAN", "Cần giá trị true hoặc false", path)
    return value


def _options(value: object) -> Options:
    if value is None:
        return Options()
    raw = _object(value, "options", set(Options.names()))
    defaults = Options()
    kwargs: dict[str, Any] = {}
    for name, given in raw.items():
        expected = type(getattr(defaults, name))
        if expected is bool:
            kwargs[name] = _bool(given, f"options.{name}")
        elif expected is int:
            if isinstance(given, bool) or not isinstance(given, int) or given < 0:
                raise RulesInputError("INVALID_OPTION", "Cần một số nguyên không âm",
                                      f"options.{name}")  # fmt: skip
            kwargs[name] = given
        else:
            if given != "use_that_semester" and given != "none":
                raise RulesInputError("INVALID_OPTION", "Giá trị không hợp lệ", f"options.{name}")
            kwargs[name] = given
    return Options(**kwargs)


def _grade(data: Mapping[str, Any], level: str) -> int:
    grade = data.get("grade")
    if isinstance(grade, bool) or not isinstance(grade, int) or grade not in _GRADES[level]:
        allowed = _GRADES[level]
        raise RulesInputError(
            "INVALID_GRADE",
            f"Khối “{grade}” không thuộc cấp {level} ({allowed[0]}–{allowed[-1]})",
            "grade",
        )
    return grade


def evaluate(data: object) -> dict[str, Any]:
    """Evaluate one student's year as the contract describes."""
    top = _object(data, "")
    regulation = top.get("regulation")
    if regulation == "TT27":
        return _evaluate_primary(top)
    if regulation not in ("TT22", "TT43"):
        raise RulesInputError(
            "UNKNOWN_REGULATION",
            f"Thông tư “{regulation}” không được hỗ trợ; dùng TT22, TT43 hoặc TT27",
            "regulation",
        )
    return _evaluate_secondary(top, Circular(regulation))


# --- secondary ------------------------------------------------------------------------------


def _semester(
    raw: object, path: str, scored: bool, periods: int | None, code: str, options: Options
) -> SemesterValue:
    if raw is None:
        return None
    if isinstance(raw, Mapping):
        semester = _object(raw, path, {"tx", "gk", "ck", "cd"} if scored else {"tx", "gk", "ck"})
        for key in ("tx", "gk", "ck"):
            if key not in semester:
                raise RulesInputError("MISSING_FIELD", f"Thiếu “{key}”", f"{path}.{key}")
        tx_raw = semester["tx"]
        if not isinstance(tx_raw, list):
            raise RulesInputError("NOT_A_LIST", "Cần một danh sách điểm", f"{path}.tx")
        if not scored:
            tx_flags = tuple(_pass_fail(v, f"{path}.tx[{i}]") for i, v in enumerate(tx_raw))
            assessments = CommentAssessments(
                tx_flags, _pass_fail(semester["gk"], f"{path}.gk"),
                _pass_fail(semester["ck"], f"{path}.ck"),
            )  # fmt: skip
            return comment_semester(assessments, options.comment_subject_tx_count)
        tx = [_score(v, f"{path}.tx[{i}]") for i, v in enumerate(tx_raw)]
        if periods is None:
            raise RulesInputError(
                "MISSING_PERIODS",
                f"Môn {code}: cần “periods_per_year” để biết số điểm đánh giá thường xuyên",
                path.rsplit(".", 1)[0] + ".periods_per_year",
            )
        expected = regular_assessment_count(periods)
        if len(tx) != expected:
            raise RulesInputError(
                "TX_COUNT",
                f"Môn {code} ({periods} tiết/năm) cần đúng {expected} điểm đánh giá thường "
                f"xuyên mỗi học kì, nhận được {len(tx)}",
                f"{path}.tx",
            )
        cd_raw = semester.get("cd", [])
        if not isinstance(cd_raw, list):
            raise RulesInputError("NOT_A_LIST", "Cần một danh sách điểm", f"{path}.cd")
        cd = [_score(v, f"{path}.cd[{i}]") for i, v in enumerate(cd_raw)]
        if options.chuyen_de_counts_as_tx:
            tx += cd
        return semester_average(
            ScoreAssessments(
                tuple(tx),
                _score(semester["gk"], f"{path}.gk"),
                _score(semester["ck"], f"{path}.ck"),
            )
        )
    return _score(raw, path) if scored else _pass_fail(raw, path)


def _subject(
    raw: object, index: int, level: Level, grade: int, options: Options
) -> tuple[SubjectYear, bool]:
    path = f"subjects[{index}]"
    entry = _object(raw, path, _SUBJECT_KEYS)
    code = entry.get("code")
    if not isinstance(code, str) or not code.strip():
        raise RulesInputError("MISSING_FIELD", "Thiếu mã môn học “code”", f"{path}.code")
    known = catalogue.CATALOGUE.get((level, code))
    mode = entry.get("mode")
    if mode is None:
        if known is None:
            raise RulesInputError(
                "UNKNOWN_SUBJECT",
                f"Mã môn “{code}” không có trong danh mục cấp {level}; hãy cho biết “mode”",
                f"{path}.code",
            )
        mode = Mode.COMMENT.value if known.mode is Mode.COMMENT else Mode.SCORE.value
    if mode not in (Mode.SCORE.value, Mode.COMMENT.value):
        raise RulesInputError(
            "INVALID_MODE", f"“mode” phải là “score” hoặc “comment”, nhận “{mode}”", f"{path}.mode"
        )
    scored = mode == Mode.SCORE.value
    periods = entry.get("periods_per_year")
    if periods is not None:
        if isinstance(periods, bool) or not isinstance(periods, int) or periods <= 0:
            raise RulesInputError(
                "INVALID_PERIODS", "Số tiết/năm phải là số nguyên dương", f"{path}.periods_per_year"
            )
    elif known is not None and grade in known.periods:
        periods = known.periods[grade]
    exempt = _bool(entry.get("exempt", False), f"{path}.exempt")
    if exempt:
        return SubjectYear(code, scored, None, None, Decimal(0), exempt=True), scored
    hk1 = _semester(entry.get("hk1"), f"{path}.hk1", scored, periods, code, options)
    hk2 = _semester(entry.get("hk2"), f"{path}.hk2", scored, periods, code, options)
    year_raw = entry.get("year")
    year = None
    if year_raw is not None:
        year = _score(year_raw, f"{path}.year") if scored else _pass_fail(year_raw, f"{path}.year")
    if hk1 is None and hk2 is None and year is None:
        raise RulesInputError("MISSING_FIELD", f"Môn {code} chưa có kết quả", path)
    try:
        return subject_year(code, scored, hk1, hk2, year, options), scored
    except ValueError as error:
        raise RulesInputError(
            "MISSING_FIELD", f"Môn {code} chưa có kết quả cả năm", path
        ) from error


def _evaluate_secondary(top: Mapping[str, Any], regulation: Circular) -> dict[str, Any]:
    _object(top, "", _SECONDARY_KEYS)
    level_name = top.get("level")
    levels = _SECONDARY_LEVELS[regulation]
    if level_name not in levels:
        raise RulesInputError(
            "UNKNOWN_SCHOOL_LEVEL",
            f"Cấp học “{level_name}” không hợp lệ cho {regulation}; dùng {', '.join(levels)}",
            "level",
        )
    grade = _grade(top, level_name)
    options = _options(top.get("options"))
    subjects_raw = top.get("subjects")
    if not isinstance(subjects_raw, list) or not subjects_raw:
        raise RulesInputError("MISSING_FIELD", "Cần danh sách môn học “subjects”", "subjects")
    subjects: list[SubjectYear] = []
    seen: set[str] = set()
    for index, raw in enumerate(subjects_raw):
        subject, _ = _subject(raw, index, levels[level_name], grade, options)
        if subject.code in seen:
            raise RulesInputError(
                "DUPLICATE_SUBJECT", f"Môn {subject.code} xuất hiện hai lần", f"subjects[{index}]"
            )
        seen.add(subject.code)
        subjects.append(subject)

    conduct_raw = _object(top.get("conduct"), "conduct", {"hk1", "hk2", "year"})
    c_hk1 = _rating(conduct_raw["hk1"], "conduct.hk1") if "hk1" in conduct_raw else None
    c_hk2 = _rating(conduct_raw["hk2"], "conduct.hk2") if "hk2" in conduct_raw else None
    if "year" in conduct_raw:
        c_year = _rating(conduct_raw["year"], "conduct.year")
    elif c_hk1 is not None and c_hk2 is not None:
        c_year = conduct_year(c_hk1, c_hk2)
    else:
        raise RulesInputError(
            "MISSING_FIELD", "Cần kết quả rèn luyện cả năm hoặc của cả hai học kì", "conduct"
        )

    absences_raw = top.get("absences", 0)
    absences = to_decimal(absences_raw)
    if absences is None or absences < 0:
        raise RulesInputError(
            "INVALID_ABSENCES", f"Số buổi nghỉ “{absences_raw}” không hợp lệ", "absences"
        )
    summer_raw = top.get("summer_conduct")
    summer = None if summer_raw is None else _rating(summer_raw, "summer_conduct")
    retake: dict[str, Decimal | bool] = {}
    by_code = {s.code: s for s in subjects}
    for code, value in _object(top.get("retake") or {}, "retake").items():
        retaken = by_code.get(code)
        if retaken is None:
            raise RulesInputError(
                "UNKNOWN_SUBJECT", f"Môn {code} không có trong danh sách môn học", f"retake.{code}"
            )
        retake[code] = (
            _score(value, f"retake.{code}") if retaken.scored
            else _pass_fail(value, f"retake.{code}")
        )  # fmt: skip
    disability_plan = _bool(top.get("disability_plan", False), "disability_plan")

    result = evaluate_year(
        StudentYear(
            regulation=regulation,
            grade=grade,
            subjects=tuple(subjects),
            conduct_hk1=c_hk1,
            conduct_hk2=c_hk2,
            conduct=c_year,
            absences=absences,
            summer_conduct=summer,
            retake=retake,
            disability_plan=disability_plan,
        ),
        options,
    )
    return {
        "subjects": {
            s.code: {
                "hk1": "M" if s.exempt else mark_text(s.hk1),
                "hk2": "M" if s.exempt else mark_text(s.hk2),
                "year": "M" if s.exempt else mark_text(s.year),
                "retake": mark_text(retake.get(s.code)),
            }
            for s in subjects
        },
        "learning": {
            "hk1": _str(result.learning_hk1),
            "hk2": _str(result.learning_hk2),
            "year": result.learning.level.value,
            "year_before_adjustment": result.learning.base.value,
            "adjusted_for": result.learning.adjusted_for,
            "after_retake": _str(result.learning_after_retake),
        },
        "conduct": {
            "hk1": _str(result.conduct_hk1),
            "hk2": _str(result.conduct_hk2),
            "year": result.conduct.value,
            "after_summer": _str(result.conduct_after_summer),
        },
        "summer": {
            "training": result.summer_training,
            "retake_subjects": list(result.retake_subjects),
        },
        "outcome": result.outcome.value,
        "completes_level": result.completes_level,
        "award": None if result.award is None else result.award.value,
    }


def _str(rating: Rating | None) -> str | None:
    return None if rating is None else rating.value


# --- primary --------------------------------------------------------------------------------


def _test_score(value: object, path: str) -> int:
    number = to_decimal(value)
    if number is None:
        raise RulesInputError("SCORE_NOT_A_NUMBER", f"Điểm “{value}” không phải là số", path)
    if not in_range(number):
        raise RulesInputError("SCORE_OUT_OF_RANGE", f"Điểm {value} ngoài khoảng 0–10", path)
    if number != number.to_integral_value():
        raise RulesInputError(
            "SCORE_NOT_INTEGER",
            f"Điểm kiểm tra định kì ở tiểu học là số nguyên, không cho điểm thập phân ({value})",
            path,
        )
    return int(number)


def _quality(value: object, path: str) -> QualityLevel:
    text = _norm(value) or ""
    try:
        return QualityLevel("Đ" if text == "D" else text)
    except ValueError:
        raise RulesInputError(
            "INVALID_LEVEL_CODE", f"Mức “{value}” không hợp lệ; dùng T, Đ hoặc C", path
        ) from None


def _marks(raw: object, name: str, required: tuple[str, ...], ignored: frozenset[str]) -> dict[
    str, QualityLevel
]:  # fmt: skip
    given = _object(raw, name)
    marks: dict[str, QualityLevel] = {}
    for key, value in given.items():
        if key in ignored:
            continue
        if key not in required:
            raise RulesInputError(
                "UNKNOWN_FIELD", f"“{key}” không có trong danh mục", f"{name}.{key}"
            )
        marks[key] = _quality(value, f"{name}.{key}")
    for key in required:
        if key not in marks:
            raise RulesInputError("MISSING_FIELD", f"Thiếu mức đánh giá “{key}”", f"{name}.{key}")
    return marks


def _evaluate_primary(top: Mapping[str, Any]) -> dict[str, Any]:
    _object(top, "", _PRIMARY_KEYS)
    level = top.get("level", "TH")
    if level != "TH":
        raise RulesInputError(
            "UNKNOWN_SCHOOL_LEVEL", f"Cấp học “{level}” không hợp lệ cho TT27; dùng TH", "level"
        )
    grade = _grade(top, "TH")
    subjects_raw = top.get("subjects")
    if not isinstance(subjects_raw, list) or not subjects_raw:
        raise RulesInputError("MISSING_FIELD", "Cần danh sách môn học “subjects”", "subjects")
    subjects: list[PrimarySubject] = []
    seen: set[str] = set()
    for index, raw in enumerate(subjects_raw):
        path = f"subjects[{index}]"
        entry = _object(raw, path, {"code", "level", "test", "name"})
        code = entry.get("code")
        if not isinstance(code, str) or not code.strip():
            raise RulesInputError("MISSING_FIELD", "Thiếu mã môn học “code”", f"{path}.code")
        if code in seen:
            raise RulesInputError("DUPLICATE_SUBJECT", f"Môn {code} xuất hiện hai lần", path)
        seen.add(code)
        try:
            subject_level = SubjectLevel(_norm(entry.get("level")) or "")
        except ValueError:
            raise RulesInputError(
                "INVALID_LEVEL_CODE",
                f"Mức “{entry.get('level')}” không hợp lệ; dùng T, H, C hoặc M",
                f"{path}.level",
            ) from None
        test = entry.get("test")
        test_score = None if test is None else _test_score(test, f"{path}.test")
        known = catalogue.CATALOGUE.get((Level.TH, code))
        if (
            test_score is None
            and subject_level is not SubjectLevel.M
            and known is not None
            and grade in known.periodic_test_grades
        ):
            raise RulesInputError(
                "MISSING_FIELD",
                f"Môn {code} lớp {grade} có bài kiểm tra định kì cuối năm; thiếu điểm “test”",
                f"{path}.test",
            )
        subjects.append(PrimarySubject(code, subject_level, test_score))
    qualities = _marks(top.get("qualities"), "qualities", QUALITIES, frozenset())
    competencies = _marks(
        top.get("competencies"), "competencies", competencies_for(grade),
        frozenset({"CONG_NGHE", "TIN_HOC"}) if grade < 3 else frozenset(),
    )  # fmt: skip
    result = evaluate_primary(
        PrimaryYear(
            grade=grade,
            subjects=tuple(subjects),
            qualities=qualities,
            competencies=competencies,
            outstanding=_bool(top.get("outstanding", False), "outstanding"),
            disability_plan=_bool(top.get("disability_plan", False), "disability_plan"),
        )
    )
    return {
        "result": None if result.result is None else result.result.value,
        "outcome": result.outcome.value,
        "completes_level": result.completes_level,
        "award": None if result.award is None else result.award.value,
    }
