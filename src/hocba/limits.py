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

SPREADSHEET_UPLOAD_BYTES: Final = 5 * MiB
"""A spreadsheet uploaded for import (.xlsx)."""

# --- spreadsheets (checked before any row is read) ----------------------------------------

SPREADSHEET_UNPACKED_BYTES: Final = 64 * MiB
"""The sum of the declared unpacked sizes of an .xlsx file's parts."""

SPREADSHEET_ROWS: Final = 20_000
"""Rows of one sheet, as the sheet declares them and as they are read."""

SPREADSHEET_COLUMNS: Final = 300
"""Columns of one sheet."""

# --- the local signer agent -----------------------------------------------------------------

AGENT_BODY_BYTES: Final = 1 * MiB
"""A request to the local signer agent."""

AGENT_DIGESTS: Final = 2_000
"""Digests signed under one confirmation."""

# --- caches kept by a long-running process (bounded, least recently used dropped) -----------

CERTIFICATES_CACHED: Final = 10_000
"""Parsed certificates (by their base64 text) kept by the signature profile."""

CERTIFICATE_FACTS_CACHED: Final = 10_000
"""What verification learned about a certificate (chain, names, key usage)."""

REVOCATION_ANSWERS_CACHED: Final = 10_000
"""Revocation answers (OCSP or CRL) by certificate."""
