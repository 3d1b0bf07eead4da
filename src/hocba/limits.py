"""Every size and count limit on input from outside, in one place (pure: no Django).

Each limit is enforced before the work it protects is done: a request body is refused from its
declared length before it is read, an inflated stream is stopped while it inflates, a
spreadsheet's declared dimensions and unpacked sizes are checked before its rows are read.
`docs/limits.md` lists them in one table with what a client sees when one is passed; keep the
two in step.
"""

from __future__ import annotations

from typing import Final

KiB: Final = 1024
MiB: Final = 1024 * KiB

# --- records and packages --------------------------------------------------------------------

RECORD_XML_BYTES: Final = 2 * MiB
"""A record XML file (a record is a few tens of kilobytes), wherever it comes from: an upload,
a package entry, the XML attached to a PDF view (counted as it inflates)."""

PACKAGE_BYTES: Final = 64 * MiB
"""A package (gói tin) received by a warehouse; also the request body of
`POST /api/v1/warehouse/packages`."""

PACKAGE_RECORDS: Final = 1000
"""Records in one package (the package schema's own bound)."""

PACKAGE_SENT_BYTES: Final = 16 * MiB
"""The largest package a sender builds by default (`HOCBA_PACKAGE_BYTES`), counted on the sealed
bytes it submits (each record base64-encoded, a third larger, plus the package's own elements
and seal): a quarter of PACKAGE_BYTES, so a warehouse with the documented limit never refuses
one for its size, and a proxy with a smaller one costs few splits."""

PACKAGE_SENT_RECORDS: Final = 200
"""Records in a package a sender builds by default (`HOCBA_PACKAGE_RECORDS`)."""

# --- sealed PDF views read for verification (pyHanko's decode limits; measured on real views) --

PDF_STREAM_BYTES: Final = RECORD_XML_BYTES
"""Decoded size of any one stream of an uploaded PDF, stopped while it inflates. The attached
record XML is the largest stream a view has, so this is also what holds it to RECORD_XML_BYTES.
Measured on sealed views (71-84 KiB B-B, 130 KiB B-LT): the XML 20-58 KiB, page contents
10-21 KiB each, font programs 8-12 KiB, the XMP packet 4 KiB; none compresses more than 9-fold."""

PDF_METADATA_BYTES: Final = 256 * KiB
"""The decoded XMP metadata packet (4 KiB in a view)."""

PDF_DECODED_BYTES: Final = 8 * MiB
"""All the streams decoded while reading one revision of an uploaded PDF (a view decodes
110-160 KiB in all; one whose XML is at its limit, about 2.2 MiB)."""

PDF_REVISIONS: Final = 16
"""Revisions of an uploaded PDF: the drawing, the seal, then validation data and document time
stamps (a B-B view has 2, a B-LT view 3)."""

PDF_UPDATE_OBJECTS: Final = 1_000
"""Objects one update after the drawing may write before it is refused unread (TAMPERED): the
seal writes 5, validation data 9 for a chain of three certificates with their OCSP answers, a
document time stamp 5."""

# --- HTTP request bodies (refused with 413 from Content-Length, before the body is read) -----

REQUEST_BODY_BYTES: Final = int(2.5 * MiB)
"""Any request not named below (forms, JSON calls)."""

VERIFY_UPLOAD_BYTES: Final = 8 * MiB
"""A record XML or sealed PDF view sent to the verification API or the public portal."""

EXTERNAL_UPLOAD_BYTES: Final = 32 * MiB
"""Record XML files, or a ZIP of them, issued by another system and uploaded for import in one
batch (a class's records are a few megabytes)."""

SPREADSHEET_UPLOAD_BYTES: Final = 5 * MiB
"""A spreadsheet uploaded for import (.xlsx)."""

FORM_OVERHEAD_BYTES: Final = 64 * KiB
"""Room above a file's own limit for the upload form around it (multipart boundaries and part
headers, the CSRF token, other fields): the request body of an upload form may be this much
larger than the file it carries."""

LARGEST_REQUEST_BODY_BYTES: Final = max(
    REQUEST_BODY_BYTES,
    PACKAGE_BYTES,
    VERIFY_UPLOAD_BYTES + FORM_OVERHEAD_BYTES,
    EXTERNAL_UPLOAD_BYTES + FORM_OVERHEAD_BYTES,
    SPREADSHEET_UPLOAD_BYTES + FORM_OVERHEAD_BYTES,
)
"""Django's own ceiling on a body it reads into memory (DATA_UPLOAD_MAX_MEMORY_SIZE): at least
every route's limit above, so Django never refuses a body (with its HTML 400) before the
route's own limit has answered 413."""

# --- records issued by another system, imported in one batch ------------------------------

EXTERNAL_FILES: Final = 1_000
"""Record files in one import (uploaded, in a ZIP, or in a folder given to the command): a
school's whole year, as a package holds at most as many."""

EXTERNAL_UNPACKED_BYTES: Final = 64 * MiB
"""The sum of the declared unpacked sizes of the entries of a ZIP given for import; each entry
is held besides to `RECORD_XML_BYTES`, and unpacking stops at the declared size."""

# --- spreadsheets (checked before any row is read) ----------------------------------------

SPREADSHEET_UNPACKED_BYTES: Final = 64 * MiB
"""The sum of the declared unpacked sizes of an .xlsx file's parts."""

SPREADSHEET_PART_BYTES: Final = 2 * MiB
"""The declared unpacked size of any one part of an .xlsx file, whatever its name: a reader
finds the sheet and the shared strings under any name the relationships give them, so every
part is held to this (the unpacking itself stops at the declared size). It bounds the time any
one part takes to read (about a second at worst). A class's grade-book sheet is about 150 kB;
no part of a grade-book template comes near 2 MiB."""

SPREADSHEET_PARTS: Final = 1_000
"""Parts (zip entries) of an .xlsx file: a grade-book template has about ten."""

SPREADSHEET_SHEETS: Final = 100
"""Sheets listed by an .xlsx file's workbook: the template has one, a class book one per subject
and a summary. The reader names each sheet against all the others, so the time grows with the
square of their number."""

SPREADSHEET_SHARED_STRINGS: Final = 20_000
"""Shared strings of an .xlsx file, counted as they are read and before any row: the reader
keeps every one in memory. A grade-book template holds a few hundred (headers, names, codes)."""

SPREADSHEET_TEXT_SHOWN_CHARS: Final = 100
"""Characters of a text from a spreadsheet (a formula, a code, a sheet's name) repeated in an
error message; longer texts are cut with "…", so that a refusal never carries the file back."""

SPREADSHEET_ROWS: Final = 20_000
"""Rows of one sheet, as the sheet declares them and as they are read."""

SPREADSHEET_COLUMNS: Final = 300
"""Columns of one sheet."""

# --- the local signer agent -----------------------------------------------------------------

AGENT_BODY_BYTES: Final = 1 * MiB
"""A request to the local signer agent."""

AGENT_DIGESTS: Final = 2_000
"""Digests signed under one confirmation."""

AGENT_TEXT_CHARS: Final = 200
"""Each text describing a batch to the teacher (school, class, subject, a student's name)."""

AGENT_BATCHES: Final = 20
"""Batches the agent keeps at once (waiting for confirmation, or signed and not yet collected);
a new one pushes out the oldest."""

AGENT_BATCH_SECONDS: Final = 10 * 60
"""How long a batch waits for the teacher's confirmation, and its values for the signing page."""

AGENT_WRONG_PINS: Final = 2
"""Wrong PINs in a row for one token after which the agent stops asking for its PIN until the
teacher confirms on the agent's page (or the agent restarts): tokens lock after 3 to 15."""

# --- revocation answers fetched from outside ---------------------------------------------------

OCSP_RESPONSE_BYTES: Final = 64 * KiB
"""An OCSP answer read from a responder (one about one certificate is 1.5-2 KiB, 3-5 KiB with a
delegated responder's certificate); a larger one is dropped while it is read, as no answer."""

OCSP_EXCHANGE_SECONDS: Final = 2.0
"""The whole OCSP exchange with a responder (connecting, sending, every byte of the answer):
past it the answer is dropped as none, however slowly its bytes still come (a timeout that
bounds each read would let a responder hold a worker by sending a byte at a time)."""

# --- caches kept by a long-running process (bounded, least recently used dropped) -----------

CERTIFICATES_CACHED: Final = 4_096
"""Parsed certificates (by their base64 text) kept by the signature profile, per process: those
known to chain to a trust anchor."""

UNTRUSTED_CERTIFICATE_BYTES_CACHED: Final = 256 * KiB
"""Parsed certificates not (yet) known to chain to a trust anchor, counted by the size of their
DER, per process: enough for the signatures of a few records to share them. Anyone can make
such certificates, and a parsed one can take tens of times its size in memory."""

CERTIFICATE_FACTS_CACHED: Final = 4_096
"""What verification learned about a certificate that chains to a trust anchor (chain, names,
key usage), per process; facts about other certificates are not kept."""

CERTIFICATE_CHAINS_CACHED: Final = 4_096
"""Chains to a trust anchor (or the finding that there is none) by certificate fingerprint,
kept by the trust store, per process."""

REVOCATION_ANSWERS_CACHED: Final = 10_000
"""Revocation answers (OCSP or CRL) by certificate, per process; each is also dropped when it
expires (`HOCBA_REVOCATION_REFRESH`, or its source's nextUpdate)."""
