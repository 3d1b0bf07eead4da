"""The typed verification report: every code has its message in both languages, messages are
looked up by code with their parameters, and the JSON is the contract's."""

from __future__ import annotations

import re
import string
from pathlib import Path

import hocba
from hocba.formats.report import (
    MESSAGES,
    VERDICT_EXPLANATIONS,
    VERDICT_WORDS,
    Check,
    CheckName,
    CheckStatus,
    Code,
    Message,
    RecordInfo,
    Report,
    Verdict,
    as_json,
    language_of,
    pdf_verdict,
    xml_verdict,
)

PASS, FAIL, UNKNOWN = CheckStatus.PASS, CheckStatus.FAIL, CheckStatus.UNKNOWN


def _fields(template: str | None) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template or "") if name}


def catalogue_problems(catalogue: dict[Code, Message]) -> list[str]:
    """What is wrong with a message catalogue: a code without a message, a message missing a
    language, a parameterised form in one language only or with other parameters."""
    problems = []
    for code in Code:
        message = catalogue.get(code)
        if message is None:
            problems.append(f"{code}: no message")
            continue
        if not message.vi.strip() or not message.en.strip():
            problems.append(f"{code}: a language is missing")
        if (message.vi_with is None) != (message.en_with is None):
            problems.append(f"{code}: parameters in one language only")
        elif _fields(message.vi_with) != _fields(message.en_with):
            problems.append(f"{code}: other parameters in each language")
    return problems


def test_every_code_has_a_vietnamese_and_an_english_message():
    assert catalogue_problems(MESSAGES) == []


def test_a_code_without_a_message_fails_the_check():
    missing = {code: m for code, m in MESSAGES.items() if code is not Code.DIGEST_MISMATCH}
    assert catalogue_problems(missing) == ["DIGEST_MISMATCH: no message"]
    half = {**MESSAGES, Code.KEY_USAGE: Message("Chứng thư số không được phép dùng để ký số", "")}
    assert catalogue_problems(half) == ["KEY_USAGE: a language is missing"]


def test_every_verdict_has_its_word_and_explanation_in_both_languages():
    for verdict in Verdict:
        for catalogue in (VERDICT_WORDS, VERDICT_EXPLANATIONS):
            assert catalogue[verdict].vi and catalogue[verdict].en, verdict


def test_every_code_the_verifiers_write_as_text_is_a_code_of_the_report():
    """The signature profile and the PDF update review name their findings by text; each one
    must be a member of `Code` (whose message the catalogue then holds)."""
    root = Path(hocba.__file__).parent
    written = set()
    for module in ("signing/profile.py", "documents/updates.py", "formats/safe.py"):
        written |= set(
            re.findall(r'"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)"', (root / module).read_text())
        )
    assert written, "no codes found"
    assert written - set(Code) == set()


def test_a_message_is_looked_up_by_its_code_in_the_language_asked():
    check = Check(CheckName.SIGNATURE, FAIL, Code.DIGEST_MISMATCH, slot="GVBM")
    assert check.message() == "Nội dung đã bị thay đổi sau khi ký"
    assert check.message("en") == "The content was changed after signing"
    assert Check(CheckName.SCHEMA, PASS).message() == ""


def test_a_message_carries_its_parameters_in_both_languages():
    order = Check(
        CheckName.ORDER, FAIL, Code.ORDER_VIOLATION, (("later", "CBQL"), ("earlier", "GVCN"))
    )
    assert order.message() == "Các bước ký không đúng thứ tự: CBQL trước GVCN"
    assert order.message("en") == "The signing steps are out of order: CBQL before GVCN"
    bare = Check(CheckName.ORDER, FAIL, Code.ORDER_VIOLATION)
    assert bare.message() == "Các bước ký không đúng thứ tự"
    half = Check(CheckName.ORDER, FAIL, Code.ORDER_VIOLATION, (("later", "CBQL"),))
    assert half.message("en") == "The signing steps are out of order"


def test_the_page_language_picks_english_only_for_english():
    assert [language_of(c) for c in ("en", "en-us", "vi", None, "fr")] == [
        "en",
        "en",
        "vi",
        "vi",
        "vi",
    ]


def test_the_json_is_the_contracts_example():
    """The example of `docs/contracts/verify.md`, built as values and serialised."""
    report = Report(
        Verdict.TAMPERED,
        RecordInfo(
            "r-1",
            2,
            "ISSUED",
            "25000201",
            "2024-2025",
            "Trường THCS Chu Văn An",
            "Phòng Giáo dục và Đào tạo Việt Trì",
        ),
        (
            Check(CheckName.SCHEMA, PASS),
            Check(
                CheckName.SIGNATURE,
                FAIL,
                Code.DIGEST_MISMATCH,
                slot="GVBM",
                target="mon-TOAN",
                signer="Nguyễn Văn A",
            ),
            Check(CheckName.CERTIFICATE, PASS, slot="GVBM"),
            Check(CheckName.REVOCATION, UNKNOWN, Code.OCSP_UNREACHABLE, slot="GVBM"),
            Check(CheckName.ORDER, PASS),
            Check(CheckName.COMPLETE, PASS),
        ),
    )
    assert as_json(report) == {
        "valid": False,
        "verdict": "TAMPERED",
        "record": {
            "record_id": "r-1",
            "version": 2,
            "status": "ISSUED",
            "school_code": "25000201",
            "school_year": "2024-2025",
            "school_name": "Trường THCS Chu Văn An",
            "authority_name": "Phòng Giáo dục và Đào tạo Việt Trì",
        },
        "checks": [
            {"check": "schema", "status": "PASS"},
            {
                "check": "signature",
                "slot": "GVBM",
                "target": "mon-TOAN",
                "signer": "Nguyễn Văn A",
                "status": "FAIL",
                "code": "DIGEST_MISMATCH",
                "message": "Nội dung đã bị thay đổi sau khi ký",
            },
            {"check": "certificate", "slot": "GVBM", "status": "PASS"},
            {
                "check": "revocation",
                "slot": "GVBM",
                "status": "UNKNOWN",
                "code": "OCSP_UNREACHABLE",
                "message": (
                    "Không kết nối được dịch vụ kiểm tra trạng thái chứng thư (OCSP) hay CRL"
                ),
            },
            {"check": "order", "status": "PASS"},
            {"check": "complete", "status": "PASS"},
        ],
    }
    assert (
        as_json(
            Report(Verdict.MALFORMED, None, (Check(CheckName.SCHEMA, FAIL, Code.XML_MALFORMED),))
        )["record"]
        is None
    )


def test_the_gravest_finding_decides_the_verdict():
    intact = [Check(CheckName.SCHEMA, PASS), Check(CheckName.ORDER, PASS)]
    assert xml_verdict(intact) is Verdict.VALID
    unknown = [*intact, Check(CheckName.REVOCATION, UNKNOWN, Code.OCSP_UNREACHABLE)]
    assert xml_verdict(unknown) is Verdict.INDETERMINATE
    untrusted = [*unknown, Check(CheckName.CERTIFICATE, FAIL, Code.CHAIN_UNTRUSTED)]
    assert xml_verdict(untrusted) is Verdict.UNTRUSTED_SIGNER
    tampered = [*untrusted, Check(CheckName.SIGNATURE, FAIL, Code.DIGEST_MISMATCH)]
    assert xml_verdict(tampered) is Verdict.TAMPERED
    painted = [Check(CheckName.VIEW_MATCHES_XML, FAIL, Code.PDF_PAGE_CONTENT_CHANGED), *intact]
    assert pdf_verdict(painted) is Verdict.TAMPERED
    assert pdf_verdict([Check(CheckName.PDF_SIGNATURE, FAIL, Code.PDF_UNREADABLE)]) is (
        Verdict.MALFORMED
    )


def test_a_malformed_report_names_the_check_that_makes_the_file_unusable():
    report = Report(
        Verdict.MALFORMED,
        None,
        (
            Check(CheckName.PDF_SIGNATURE, FAIL, Code.PDF_NOT_SEALED),
            Check(CheckName.EMBEDDED_XML, FAIL, Code.EMBEDDED_XML_MISSING),
        ),
    )
    why = report.unusable()
    assert why is not None and why.code is Code.EMBEDDED_XML_MISSING
    assert not report.valid and report.codes() == {Code.PDF_NOT_SEALED, Code.EMBEDDED_XML_MISSING}
