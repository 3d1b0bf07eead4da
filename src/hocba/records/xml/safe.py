"""Reading XML that comes from outside: no DTD, no entities, no network, a size limit.

Everything that parses a record or a package goes through `parse_untrusted`. Hostile documents
(XXE, billion laughs, external DTDs, oversized input) are refused before or during parsing with
a specific code, never expanded or fetched.
"""

from __future__ import annotations

import re

from lxml import etree

from hocba.limits import RECORD_XML_BYTES

MAX_BYTES = RECORD_XML_BYTES
"""A record is a few kilobytes; anything above this is refused unread."""

_DECLARATIONS = re.compile(rb"<!(DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)", re.IGNORECASE)


class XmlRejected(ValueError):
    """The document was refused; `code` is stable, `message` is Vietnamese."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def _parser(keep_whitespace: bool) -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=not keep_whitespace,
        collect_ids=False,
    )


_PARSERS = {flag: _parser(flag) for flag in (False, True)}


def _pair_at(data: bytes, pair: bytes, start: int = 0) -> bool:
    """Whether the two bytes `pair` occur in `data` from `start`: the second byte is found with
    memchr, many times faster than a two-byte search over a record; a document with many of
    them falls back to the plain search."""
    first, second = pair[0], pair[1:]
    index = data.find(second, start + 1)
    for _ in range(16):
        if index == -1:
            return False
        if data[index - 1] == first:
            return True
        index = data.find(second, index + 1)
    return data.find(pair, start) != -1


def _plain_utf8(data: bytes, tree: etree._ElementTree) -> bool:
    """Whether the document is UTF-8 or ASCII, so that markup is spelled with the bytes the
    quick scan looks for (UTF-16 or UTF-7 spell "<!DOCTYPE" otherwise)."""
    return (tree.docinfo.encoding or "").upper() in ("UTF-8", "UTF8", "US-ASCII", "ASCII")


def _after_declaration(data: bytes) -> int:
    """Where to look for "<?" from: past the start of an XML declaration ("<?xml" and a space)
    at the very beginning (after a UTF-8 byte order mark), else from the first byte, so that a
    processing instruction there ("<?xml-stylesheet …?>", "<?foo?>") is seen."""
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    head = data[start : start + 6]
    if head[:5] == b"<?xml" and head[5:6] in (b" ", b"\t", b"\r", b"\n"):
        return start + 1
    return 0


def parse_untrusted(
    data: bytes, max_bytes: int = MAX_BYTES, keep_whitespace: bool = False
) -> etree._Element:
    """The root element of `data`, or XmlRejected. Signature verification keeps whitespace
    exactly as received (`keep_whitespace`); reading a record drops blank text."""
    if not isinstance(data, bytes | bytearray):
        raise XmlRejected("XML_NOT_BYTES", "Dữ liệu XML phải là chuỗi byte")
    if len(data) > max_bytes:
        raise XmlRejected(
            "XML_TOO_LARGE", f"Tệp XML quá lớn ({len(data)} byte, tối đa {max_bytes} byte)"
        )
    declares = _pair_at(data, b"<!")
    match = _DECLARATIONS.search(data) if declares else None
    if match:
        kind = match.group(1).decode().upper()
        code = "XML_DTD_FORBIDDEN" if kind == "DOCTYPE" else "XML_DECLARATION_FORBIDDEN"
        raise XmlRejected(code, f"Tệp XML chứa khai báo <!{kind}>, không được phép")
    try:
        root = etree.fromstring(bytes(data), parser=_PARSERS[keep_whitespace])
    except etree.XMLSyntaxError as error:
        raise XmlRejected("XML_MALFORMED", f"Tệp XML không đúng cú pháp: {error.msg}") from None
    tree = root.getroottree()
    if (
        not declares
        and _plain_utf8(data, tree)
        and not _pair_at(data, b"<?", _after_declaration(data))
    ):
        # UTF-8 (or ASCII) bytes with no "<!" hold no DTD, entity or declaration, and with no
        # "<?" after the XML declaration no processing instruction either
        return root
    if getattr(tree.docinfo, "doctype", "") or tree.docinfo.internalDTD is not None:
        raise XmlRejected("XML_DTD_FORBIDDEN", "Tệp XML chứa DTD, không được phép")
    around = [*root.itersiblings(preceding=True), *root.itersiblings()]
    if (
        any(isinstance(node, _FORBIDDEN) for node in around)
        or next(root.iter(etree.Entity, etree.ProcessingInstruction), None) is not None
    ):
        raise XmlRejected("XML_DECLARATION_FORBIDDEN", "Tệp XML chứa thực thể hoặc chỉ thị xử lý")
    return root


_FORBIDDEN = (etree._Entity, etree._ProcessingInstruction)
