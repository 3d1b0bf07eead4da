"""Printable views: draw and seal fully signed records, one after another, on one core.

For each of N distinct records (all four signing steps, 15 XML signatures each): read the XML,
draw the PDF/A-3b view (typst, QR code, XML attached), seal it with the school's organisation
key on a SoftHSM2 token through PKCS#11 (pyHanko, PAdES B-B). Reported as sealed PDFs per second
against the limit measured in the same run: compiling the same template without data (every
text empty, no table rows; only the record id differs, so each is a new document in which typst
reuses whatever pieces are the same as before, as it does between real records).

Drawing and sealing run pinned to one CPU: typst would otherwise lay out pages on a second
thread, and the figure is what one core gives.

`ms_per_record_by_step` says where a record's time goes (view data from the XML, QR code, typst,
seal), timed step by step over the first 50 records once more after the measurement.

`--quick` does 150 records.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import report
from bench.records import records as synthetic
from bench.sign import fully_signed
from hocba.documents.render import Renderer, blank, qr_svg
from hocba.documents.seal import Sealer
from hocba.documents.view import view_of
from hocba.signing.dev.pki import SOFTHSM_LIBRARY, create
from hocba.signing.signers import Pkcs11Signer, import_to_token

TAX = "2600100202"
BASE = "https://hocba.example.vn/xac-minh"
CHUNK = 50


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n = 150 if args.quick else 1000

    pki = create(Path(tempfile.mkdtemp(prefix="hocba-bench-")), ocsp_url="http://127.0.0.1:9/ocsp")
    print(f"signing {n} records through all four steps…", file=sys.stderr)
    signed, _verifier = fully_signed(pki, synthetic(n))
    pki.init_token("SEAL")
    key, cert = pki.issue_org(TAX, "Trường THCS Chu Văn An")
    import_to_token(SOFTHSM_LIBRARY, str(pki.softhsm_conf), "SEAL", pki.pin, [("MST", key, cert)])
    signer = Pkcs11Signer(SOFTHSM_LIBRARY, "SEAL", pki.pin, "MST", str(pki.softhsm_conf))
    sealer = Sealer(signer, [pki.issuing], "Trường THCS Chu Văn An")
    # one core from here on: typst sizes its thread pool by the CPUs the process may use
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    renderer = Renderer(BASE)
    renderer.render(signed[0])  # fonts loaded, template parsed: not part of either figure

    # the limit: the template with no data, as many times, in the same run; the two alternate
    # in chunks so that both see the machine in the same state
    shape, _when = view_of(signed[0], BASE)
    empties = []
    for i in range(n):
        empty = blank(shape)
        empty["record"]["id"] = f"{i:036d}"
        empties.append(empty)
    qr = qr_svg(BASE)
    blank_seconds = seconds = 0.0
    sizes = 0
    for first in range(0, n, CHUNK):
        start = time.perf_counter()
        for empty in empties[first : first + CHUNK]:
            renderer.render_view(empty, b"<HOC_BA/>", qr)
        blank_seconds += time.perf_counter() - start
        start = time.perf_counter()
        for xml in signed[first : first + CHUNK]:
            sizes += len(sealer.seal(renderer.render(xml)))
        seconds += time.perf_counter() - start
    # where a record's time goes: the same steps as `render` + `seal`, timed one by one, once
    # more over the first chunk (not part of the figure)
    steps = {"view_data": 0.0, "qr_code": 0.0, "typst": 0.0, "seal": 0.0}
    sample = signed[:CHUNK]
    for xml in sample:
        t0 = time.perf_counter()
        data, when = view_of(xml, BASE)
        t1 = time.perf_counter()
        qr = qr_svg(data["address"])
        t2 = time.perf_counter()
        pdf = renderer.render_view(data, xml, qr, when)
        t3 = time.perf_counter()
        sealer.seal(pdf)
        t4 = time.perf_counter()
        for name, spent in zip(steps, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
            steps[name] += spent
    signer.close()

    report(
        "render",
        n,
        seconds,
        "typst compiles of the same template without data/s, same run",
        n / blank_seconds,
        pinned_to_cpu=cpu,
        pdf_standard="PDF/A-3b",
        seal="PAdES B-B, RSA-2048 on SoftHSM2 via PKCS#11",
        signatures_per_record_xml=15,
        average_pdf_bytes=round(sizes / n),
        ms_per_record_by_step={k: round(1000 * v / len(sample), 1) for k, v in steps.items()},
    )


if __name__ == "__main__":
    main()
