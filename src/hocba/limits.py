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

SPREADSHEET_XML_PART_BYTES: Final = 2 * MiB
"""The declared unpacked size of any one XML part of an .xlsx file (a sheet, the shared strings,
the styles). A row is parsed whole, so a 30 kB file holding one row of a million cells would
take many seconds: this bounds the time any file takes. A class's grade-book sheet is about
150 kB."""

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
