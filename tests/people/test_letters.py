"""The activation letters: one page per person, Vietnamese text as written, and a QR code that
opens the activation page with the username and code filled in."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
from urllib.parse import parse_qs, urlsplit

from pypdf import PdfReader

from hocba.people.letters import letters_pdf
from hocba.people.services import Letter
from tests.conftest import require_tool

BASE = "https://hocba.phutho.edu.vn/kich-hoat/"
LETTERS = [
    Letter("Nguyễn Thị Ánh Tuyết", "Phụ huynh học sinh Đỗ Quỳnh Như, lớp 7A", "ph.hs0001",
           "ABCD-EFGH-JK23", dt.date(2027, 1, 5)),
    Letter("Trần Đức Thắng", "Giáo viên Toán", "thangtd.25000201", "WXYZ-2345-6789",
           dt.date(2027, 1, 5)),
]  # fmt: skip


def test_each_person_gets_a_page_with_their_name_username_and_code():
    pdf = letters_pdf("Trường THCS Chu Văn An", LETTERS, BASE, BASE)
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]
    assert len(pages) == 2
    for letter, text in zip(LETTERS, pages, strict=True):
        for shown in (letter.full_name, letter.about, letter.username, letter.code, "05/01/2027"):
            assert shown in text
        assert "TRƯỜNG THCS CHU VĂN AN" in text and "chỉ dùng được một lần" in text


def test_the_qr_code_opens_the_activation_page_with_the_username_and_code(tmp_path):
    pdf = tmp_path / "letters.pdf"
    pdf.write_bytes(letters_pdf("Trường THCS Chu Văn An", LETTERS[1:], BASE, BASE))
    subprocess.run(
        [require_tool("pdftoppm"), "-r", "150", "-png", str(pdf), str(tmp_path / "page")],
        check=True,
    )
    image = next(tmp_path.glob("page*.png"))
    decoded = subprocess.run(
        [require_tool("zbarimg"), "--quiet", "--raw", str(image)],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    address = urlsplit(decoded)
    assert f"{address.scheme}://{address.netloc}{address.path}" == BASE
    assert parse_qs(address.query) == {"u": ["thangtd.25000201"], "c": ["WXYZ-2345-6789"]}
