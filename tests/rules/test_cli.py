"""`hocba rules evaluate` as a process: the contract's shapes and its errors."""

import json
import subprocess
import sys

import pytest

SECONDARY = {
    "regulation": "TT22",
    "level": "THCS",
    "grade": 7,
    "subjects": [
        {"code": "TOAN", "mode": "score", "periods_per_year": 140,
         "hk1": {"tx": [8, 7.5, 9, 6], "gk": 7, "ck": 8.5},
         "hk2": {"tx": [9, 8, 8.5, 9], "gk": 8, "ck": 9}},
        {"code": "NGU_VAN", "mode": "score", "hk1": 6.6, "hk2": 6.4},
        {"code": "TIN_HOC", "mode": "score", "year": 4.2},
        {"code": "GDTC", "mode": "comment", "hk1": "Đ", "hk2": "CĐ"},
        {"code": "NGHE_THUAT", "mode": "comment", "year": "Đ"},
    ],
    "conduct": {"hk1": "K", "hk2": "T"},
    "absences": 3,
    "summer_conduct": "Đ",
    "retake": {"TOAN": 5.0, "GDTC": "Đ"},
    "options": {"adjustment_includes_comment_subjects": True},
}  # fmt: skip

PRIMARY = {
    "regulation": "TT27",
    "level": "TH",
    "grade": 5,
    "subjects": [
        {"code": "TIENG_VIET", "level": "T", "test": 9},
        {"code": "TOAN", "level": "T", "test": 10},
        {"code": "DAO_DUC", "level": "T"},
    ],
    "qualities": dict.fromkeys(
        ("YEU_NUOC", "NHAN_AI", "CHAM_CHI", "TRUNG_THUC", "TRACH_NHIEM"), "T"
    ),
    "competencies": dict.fromkeys(
        ("TU_CHU_TU_HOC", "GIAO_TIEP_HOP_TAC", "GQVD_SANG_TAO", "NGON_NGU", "TINH_TOAN",
         "KHOA_HOC", "CONG_NGHE", "TIN_HOC", "THAM_MI", "THE_CHAT"), "T"),
    "outstanding": False,
}  # fmt: skip


def run(payload, *args):
    text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    done = subprocess.run(
        [sys.executable, "-m", "hocba.cli", "rules", "evaluate", *args],
        input=text, capture_output=True, text=True, encoding="utf-8",
    )  # fmt: skip
    return done.returncode, json.loads(done.stdout) if done.stdout.strip() else None, done.stderr


def test_secondary_answer_has_the_contract_shape():
    code, out, _ = run(SECONDARY)
    assert code == 0
    assert out["subjects"]["TOAN"] == {"hk1": "7.8", "hk2": "8.6", "year": "8.3", "retake": "5.0"}
    assert out["subjects"]["NGU_VAN"]["year"] == "6.5"
    assert out["subjects"]["GDTC"] == {"hk1": "Đ", "hk2": "CĐ", "year": "CĐ", "retake": "Đ"}
    assert out["learning"]["hk1"] is None  # TIN_HOC has only a year result
    assert out["conduct"] == {"hk1": "K", "hk2": "T", "year": "T", "after_summer": None}
    assert out["summer"] == {"training": False, "retake_subjects": ["TIN_HOC", "GDTC"]}
    assert set(out) >= {"subjects", "learning", "conduct", "summer", "outcome",
                        "completes_level", "award"}  # fmt: skip
    assert out["outcome"] == "PENDING_SUMMER"  # TIN_HOC's re-assessment is not given


def test_tt43_answers():
    payload = {
        "regulation": "TT43", "level": "THPT", "grade": 12,
        "subjects": [{"code": c, "year": v} for c, v in
                     (("NGU_VAN", 8), ("TOAN", 8.5), ("LICH_SU", 8), ("DIA_LI", 8),
                      ("VAT_LI", 9), ("HOA_HOC", 7), ("TIN_HOC", 7))],
        "conduct": {"year": "T"},
    }  # fmt: skip
    code, out, _ = run(payload)
    assert code == 0
    assert out["learning"]["year"] == "T"  # five subjects at 8.0 suffice under TT43
    assert out["outcome"] == "PROMOTED" and out["completes_level"] is True
    assert out["award"] == "HOC_SINH_GIOI"


def test_primary_answer_has_the_contract_shape():
    code, out, _ = run(PRIMARY)
    assert code == 0
    assert out == {"result": "HTXS", "outcome": "COMPLETED", "completes_level": True,
                   "award": "HOC_SINH_XUAT_SAC"}  # fmt: skip


def test_input_file_and_comma_decimals(tmp_path):
    payload = dict(SECONDARY, subjects=[{"code": "NGU_VAN", "hk1": "6,6", "hk2": "6,4"}], retake={})
    path = tmp_path / "in.json"
    path.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
    code, out, _ = run("", "--input", str(path))
    assert code == 0 and out["subjects"]["NGU_VAN"]["year"] == "6.5"


def with_tx(tx):
    subject = {"code": "TOAN", "hk1": {"tx": tx, "gk": 7, "ck": 8}, "hk2": 8}
    return dict(SECONDARY, subjects=[subject], retake={})


@pytest.mark.parametrize(
    ("payload", "code", "path"),
    [
        (with_tx([8, 7, 10.5, 9]), "SCORE_OUT_OF_RANGE", "subjects[0].hk1.tx[2]"),
        (with_tx([8, 7, 8.25, 9]), "SCORE_TOO_PRECISE", "subjects[0].hk1.tx[2]"),
        (with_tx([8, 7, 9]), "TX_COUNT", "subjects[0].hk1.tx"),
        (
            dict(PRIMARY, subjects=[{"code": "TOAN", "level": "T", "test": 8.5}]),
            "SCORE_NOT_INTEGER",
            "subjects[0].test",
        ),
        (dict(SECONDARY, conduct={"hk1": "G", "hk2": "T"}), "INVALID_LEVEL_CODE", "conduct.hk1"),
        (
            dict(PRIMARY, subjects=[{"code": "TOAN", "level": "X", "test": 8}]),
            "INVALID_LEVEL_CODE",
            "subjects[0].level",
        ),
        (dict(SECONDARY, level="THCX"), "UNKNOWN_SCHOOL_LEVEL", "level"),
        (dict(SECONDARY, regulation="TT58"), "UNKNOWN_REGULATION", "regulation"),
        (dict(SECONDARY, grade=10), "INVALID_GRADE", "grade"),
        ("{not json", "INVALID_JSON", ""),
    ],
)
def test_invalid_input_exits_2_with_an_error_object(payload, code, path):
    status, out, stderr = run(payload)
    assert status == 2
    assert out["error"]["code"] == code
    assert out["error"]["path"] == path
    assert out["error"]["message"]
    assert code in stderr
