"""A verification worker under hostile uploads: its memory stays bounded, it never fails.

`hocba serve --workers 1` verifies uploads on loopback (`POST /api/v1/verify`). After a warm-up of
genuine uploads (a fully signed record's XML and its sealed PDF view), N hostile uploads follow,
cycling through the kinds below, each made fresh (distinct certificates, ids, sizes):

- XML: entity expansion, an external entity, a DTD, deep nesting, a comment inside a signed
  value, a processing instruction, a forged record copy inside a signature slot, thousands of
  extra elements, a record whose signatures carry fresh certificates (15 distinct ones each);
- PDF: an attached XML that inflates to 256 MiB, a sealed view with an incremental update whose
  content stream inflates to 256 MiB, a rewritten /ByteRange, a cut-off view, a page painted
  over after the drawing and sealed again;
- anything: random bytes, a body over the upload limit.

Reported: uploads per second, against genuine uploads per second in the same run (the limit),
the worker's resident memory after the warm-up and after the hostile uploads (and its peak),
and how many answers were server errors (there must be none). `--quick` sends 200.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from _common import report

TAX = "2600100202"
BASE = "http://127.0.0.1/xac-minh"
MiB = 1024 * 1024
HOCBA = str(Path(sys.executable).parent / "hocba")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> tuple[float, float]:
    """Resident and peak resident memory of a process, in MB."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return (int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024)


def workers_of(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children")
    return [int(p) for p in children.read_text().split()] if children.exists() else []


# --- genuine material ------------------------------------------------------------------


def genuine(data: Path) -> tuple[bytes, bytes, object]:
    """A fully signed record, its sealed view, and the development PKI that trusts both."""
    from bench.records import records as synthetic
    from bench.sign import fully_signed
    from hocba.documents.render import Renderer
    from hocba.documents.seal import Sealer
    from hocba.signing.dev.pki import create
    from hocba.signing.signers import Pkcs12Signer

    pki = create(data / "pki", ocsp_url="http://127.0.0.1:9/ocsp")
    pki.write_crl()
    signed, _verifier = fully_signed(pki, synthetic(1))
    sealer = Sealer(Pkcs12Signer(*pki.issue_org(TAX, "Trường THCS Chu Văn An")), [pki.issuing])
    pdf = sealer.seal(Renderer(BASE).render(signed[0]))
    return signed[0], pdf, pki


# --- hostile material ------------------------------------------------------------------


def _pdf(objects: list[bytes], root: int = 1) -> bytes:
    """A small PDF from numbered object bodies (1-based), with a correct xref table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        root,
        xref,
    )
    return bytes(out)


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    packed = zlib.compress(data, 9)
    return (
        b"<< /Length %d /Filter /FlateDecode %s >>\nstream\n" % (len(packed), extra)
        + packed
        + b"\nendstream"
    )


_ZEROS_256 = zlib.compress(bytes(256 * MiB), 9)
"""256 MiB of zeros, deflated once (about 250 KB)."""


def _bomb_stream(extra: bytes = b"") -> bytes:
    return (
        b"<< /Length %d /Filter /FlateDecode %s >>\nstream\n" % (len(_ZEROS_256), extra)
        + _ZEROS_256
        + b"\nendstream"
    )


def attached_xml_bomb(i: int) -> bytes:
    return _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles 4 0 R >> >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
            b"<< /Names [(hocba-%d.xml) 5 0 R] >>" % i,
            b"<< /Type /Filespec /F (hocba-%d.xml) /UF (hocba-%d.xml) /EF << /F 6 0 R >> >>"
            % (i, i),
            _bomb_stream(b"/Type /EmbeddedFile /Subtype /application#2Fxml"),
        ]
    )


def _trailer_info(pdf: bytes) -> tuple[int, int, bytes]:
    """(next object number, offset of the last xref, the /Root reference) of a PDF."""
    size = int(re.findall(rb"/Size (\d+)", pdf)[-1])
    startxref = int(re.findall(rb"startxref\s+(\d+)", pdf)[-1])
    root = re.findall(rb"/Root (\d+ \d+ R)", pdf)[-1]
    return size, startxref, root


def _page_ref(pdf: bytes) -> bytes:
    return re.findall(rb"(\d+) 0 obj\s*<<\s*/Type\s*/Page[\s/>]", pdf)[0]


def _update(pdf: bytes, objects: dict[int, bytes]) -> bytes:
    """An incremental update adding or replacing `objects` (number → body), xref table form."""
    size, previous, root = _trailer_info(pdf)
    out = bytearray(pdf if pdf.endswith(b"\n") else pdf + b"\n")
    offsets = {}
    for number, body in sorted(objects.items()):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n"
    for number, offset in sorted(offsets.items()):
        out += b"%d 1\n%010d 00000 n \n" % (number, offset)
    new_size = max(size, max(objects) + 1)
    out += b"trailer\n<< /Size %d /Root %s /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (
        new_size,
        root,
        previous,
        xref,
    )
    return bytes(out)


def content_bomb(pdf: bytes, i: int) -> bytes:
    """The sealed view with an update whose new content stream inflates to 256 MiB."""
    size, _previous, _root = _trailer_info(pdf)
    page = int(_page_ref(pdf))
    body = re.search(rb"\n%d 0 obj\s*(<<.*?>>)\s*endobj" % page, pdf, re.S)
    assert body is not None
    dictionary = re.sub(rb"/Contents\s+(\d+ \d+ R|\[[^\]]*\])", b"", body.group(1))
    dictionary = dictionary[:-2] + b" /Contents %d 0 R >>" % size
    return _update(pdf, {page: dictionary, size: _bomb_stream(b"/N %d" % i)})


def painted_over(pdf: bytes, i: int) -> bytes:
    """The drawing with a white box and other grades painted on its first page (no new seal)."""
    size, _previous, _root = _trailer_info(pdf)
    page = int(_page_ref(pdf))
    body = re.search(rb"\n%d 0 obj\s*(<<.*?>>)\s*endobj" % page, pdf, re.S)
    assert body is not None
    contents = re.search(rb"/Contents\s+(\d+ \d+ R)", body.group(1))
    old = contents.group(1) if contents else b""
    paint = b"q 1 1 1 rg 50 300 500 300 re f Q BT /F1 24 Tf 60 500 Td (10,0 %d) Tj ET" % i
    dictionary = re.sub(rb"/Contents\s+(\d+ \d+ R|\[[^\]]*\])", b"", body.group(1))
    dictionary = dictionary[:-2] + b" /Contents [%s %d 0 R] >>" % (old, size)
    return _update(pdf, {page: dictionary, size: _stream(paint)})


def rewritten_byte_range(pdf: bytes, i: int) -> bytes:
    match = re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", pdf)
    assert match is not None
    a, b, c, d = (int(x) for x in match.groups())
    fake = b"/ByteRange [%d %d %d %d]" % (a, b + 1 + i % 7, c - 3, d + 10**9)
    fake = fake.ljust(len(match.group(0)))[: len(match.group(0))]
    return pdf[: match.start()] + fake + pdf[match.end() :]


def fresh_certificates(record: bytes, i: int, pool: Iterator[bytes]) -> bytes:
    """The record with every signature's certificate replaced by a new, distinct one."""
    return re.sub(
        rb"(<ds:X509Certificate>)[^<]*(</ds:X509Certificate>)",
        lambda m: m.group(1) + next(pool) + m.group(2),
        record,
    )


def certificate_pool() -> Iterator[bytes]:
    """Distinct self-signed certificates (base64 DER), made as they are needed."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    serial = 1
    while True:
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, f"Giáo viên {serial}"),
                x509.NameAttribute(NameOID.USER_ID, f"CCCD:{serial:012d}"),
            ]
        )
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365))
            .sign(key, hashes.SHA256())
        )
        serial += 1
        yield base64.b64encode(cert.public_bytes(serialization.Encoding.DER))


def hostile_kinds(record: bytes, pdf: bytes) -> list[tuple[str, Callable[[int], bytes]]]:
    pool = certificate_pool()
    slot = re.search(rb"(<KY_PHAT_HANH[^>]*>)", record)
    assert slot is not None

    def in_slot(extra: bytes) -> bytes:
        return record.replace(slot.group(1), slot.group(1) + extra, 1)

    def laughs(i: int) -> bytes:
        entities = [b'<!ENTITY l0 "lol%d">' % i] + [
            b'<!ENTITY l%d "%s">' % (n, b"&l%d;" % (n - 1) * 10) for n in range(1, 10)
        ]
        return b'<?xml version="1.0"?><!DOCTYPE r [' + b"".join(entities) + b"]><r>&l9;</r>"

    return [
        ("xml: entity expansion", laughs),
        (
            "xml: external entity",
            lambda i: (
                b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM '
                b'"file:///etc/passwd">]><HOC_BA>&x;%d</HOC_BA>' % i
            ),
        ),
        ("xml: deep nesting", lambda i: b"<a>" * (20_000 + i) + b"</a>" * (20_000 + i)),
        (
            "xml: comment in a signed value",
            lambda i: re.sub(rb"(<PHIEN_BAN>)(\d+)", rb"\1<!--%d-->\2" % i, record, count=1),
        ),
        (
            "xml: processing instruction",
            lambda i: record.replace(b"<HOC_BA", b"<?x %d?><HOC_BA" % i, 1),
        ),
        (
            "xml: forged copy in a slot",
            lambda i: in_slot(
                b'<ds:Object xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Id="o%d">' % i
                + record.split(b"?>", 1)[-1]
                + b"</ds:Object>"
            ),
        ),
        (
            "xml: thousands of extra elements",
            lambda i: in_slot(
                b'<ds:Object xmlns:ds="http://www.w3.org/2000/09/xmldsig#">'
                + b"<ds:KeyName>k</ds:KeyName>" * (20_000 + i)
                + b"</ds:Object>"
            ),
        ),
        ("xml: fresh certificates", lambda i: fresh_certificates(record, i, pool)),
        ("pdf: attached XML inflating to 256 MiB", attached_xml_bomb),
        ("pdf: content stream inflating to 256 MiB", lambda i: content_bomb(pdf, i)),
        ("pdf: rewritten /ByteRange", lambda i: rewritten_byte_range(pdf, i)),
        ("pdf: cut off", lambda i: pdf[: len(pdf) // 2 + i]),
        ("pdf: painted over after the drawing", lambda i: painted_over(pdf, i)),
        ("random bytes", lambda i: random.Random(i).randbytes(1024 + 97 * i)),
        ("pdf header and junk", lambda i: b"%PDF-1.7\n" + random.Random(i).randbytes(4096)),
        ("body over the upload limit", lambda i: b"<" + b"x" * (9 * MiB + i)),
    ]


# --- the run -----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--uploads", type=int, default=None)
    args = parser.parse_args()
    n = args.uploads or (200 if args.quick else 1000)
    result = run(n)
    report(
        "hostile_uploads",
        n,
        result["seconds"],
        "genuine uploads (record XML and sealed PDF, alternating)/s, same worker, same run",
        result["genuine_per_s"],
        rss_after_warmup_mb=result["rss_start"],
        rss_after_mb=result["rss_end"],
        rss_growth_mb=result["growth"],
        rss_peak_mb=result["peak"],
        server_errors=result["server_errors"],
        statuses=result["statuses"],
        kinds=result["kinds"],
    )


def run(n: int, log: Callable[[str], None] = lambda s: print(s, file=sys.stderr)) -> dict:
    import httpx

    data = Path(tempfile.mkdtemp(prefix="hocba-bench-hostile-"))
    log("signing and sealing a record…")
    record, pdf, _pki = genuine(data)
    pki = data / "pki"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HOCBA_", "DJANGO_")) and k not in ("DATABASE_URL",)
    }
    env.update(
        HOCBA_DATA_DIR=str(data),
        HOCBA_SECRET_KEY="bench-" + "k" * 50,
        HOCBA_TRUST_ANCHORS=str(pki / "ca/root.pem"),
        HOCBA_TRUST_INTERMEDIATES=str(pki / "ca/issuing.pem"),
        HOCBA_CRLS=str(pki / "crl/issuing.crl"),
        HOCBA_OCSP="0",
        HOCBA_VERIFY_RATE=str(10**8),
        HOCBA_VERIFY_URL=BASE,
        HOCBA_DEV_PKI="1",
    )
    subprocess.run([HOCBA, "migrate", "-v", "0"], env=env, check=True)
    port = _free_port()
    log_file = open(data / "serve.log", "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [HOCBA, "serve", "--addr", f"127.0.0.1:{port}", "--workers", "1", "--threads", "2"],
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/api/v1/verify"
    try:
        with httpx.Client(timeout=120) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    client.get(f"http://127.0.0.1:{port}/xac-minh/")
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise
                    time.sleep(0.2)

            def post(body: bytes) -> httpx.Response:
                kind = "application/pdf" if body.startswith(b"%PDF") else "application/xml"
                return client.post(url, content=body, headers={"Content-Type": kind})

            log("warming up with genuine uploads…")
            genuine_uploads = 40
            start = time.perf_counter()
            for i in range(genuine_uploads):
                answer = post(record if i % 2 else pdf)
                assert answer.status_code == 200, answer.text[:500]
                assert answer.json()["verdict"] in ("VALID", "INDETERMINATE"), answer.text[:2000]
            genuine_seconds = time.perf_counter() - start
            (worker,) = workers_of(server.pid)
            rss_start, _ = rss_mb(worker)

            kinds = hostile_kinds(record, pdf)
            statuses: Counter[str] = Counter()
            verdicts: dict[str, Counter[str]] = {name: Counter() for name, _ in kinds}
            server_errors = 0
            log(f"{n} hostile uploads…")
            start = time.perf_counter()
            for i in range(n):
                name, make = kinds[i % len(kinds)]
                try:
                    answer = post(make(i))
                except httpx.TransportError as error:
                    # the connection closed before an answer could be read: for a body refused
                    # from its declared length, the server answers and closes while the client
                    # is still sending
                    statuses["closed"] += 1
                    verdicts[name][f"closed ({type(error).__name__})"] += 1
                    continue
                statuses[str(answer.status_code)] += 1
                if answer.status_code >= 500:
                    server_errors += 1
                try:
                    body = answer.json()
                except ValueError:
                    body = {}
                verdicts[name][
                    str(body.get("verdict") or (body.get("error") or {}).get("code") or "")
                    + f" ({answer.status_code})"
                ] += 1
            seconds = time.perf_counter() - start
            assert workers_of(server.pid) == [worker], "the worker was replaced (it died)"
            rss_end, peak = rss_mb(worker)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log_file.close()
    return {
        "seconds": seconds,
        "genuine_per_s": genuine_uploads / genuine_seconds,
        "rss_start": round(rss_start, 1),
        "rss_end": round(rss_end, 1),
        "growth": round(rss_end - rss_start, 1),
        "peak": round(peak, 1),
        "server_errors": server_errors,
        "statuses": dict(statuses),
        "kinds": {name: dict(counts) for name, counts in verdicts.items()},
    }


if __name__ == "__main__":
    main()
