"""Reading XML that comes from outside: no DTD, no entities, no network, a size limit, and
nothing that canonicalisation would leave out of a signature.

Everything that parses a record or a package goes through `parse_untrusted`. Hostile documents
(XXE, billion laughs, external DTDs, oversized input) are refused before or during parsing with
a specific code, never expanded or fetched.

Records and packages are machine-made, so a document is refused as well when it holds a comment,
a processing instruction or a CDATA section anywhere (also before or after the root element), or
is not UTF-8. Exclusive canonicalisation drops comments, so an element whose text is interrupted
by one (`<PHIEN_BAN>1<!---->2</PHIEN_BAN>`) is signed as "12" while its `.text` reads "1"; with
none of these node kinds left, an element's text is exactly the text its signature covers, and
whoever reads the tree reads what was signed. A comment or a CDATA section is also where a second
file (a PDF, say) would hide in a record.
"""

from __future__ import annotations

import re

from lxml import etree

from hocba.formats.report import MESSAGES, Code
from hocba.limits import RECORD_XML_BYTES

MAX_BYTES = RECORD_XML_BYTES
"""A record is a few kilobytes; anything above this is refused unread."""

_DECLARATIONS = re.compile(rb"<!(DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)", re.IGNORECASE)


class XmlRejected(ValueError):
    """The document was refused; `code` is stable (a `Code` of the verification report),
    `params` fill its message (`hocba.formats.report.MESSAGES`), `message` is that message in
    Vietnamese."""

    def __init__(self, code: str, message: str | None = None, **params: str) -> None:
        self.code = code
        self.params = params
        if message is None:
            message = MESSAGES[Code(code)].text("vi", params)
        self.message = message
        super().__init__(f"{code}: {message}")


def _parser(keep_whitespace: bool) -> etree.XMLParser:
    return etree.XMLParser(
        # the bytes are read as UTF-8 whatever they declare or start with, so that the byte
        # scans below see every markup character (UTF-16 or UTF-7 spell "<!--" otherwise)
        encoding="UTF-8",
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


_ENCODING = re.compile(rb"<\?xml[^>]*?[ \t\r\n]encoding[ \t\r\n]*=[ \t\r\n]*[\"']([^\"']*)")
_UTF8_NAMES = (b"UTF-8", b"UTF8", b"US-ASCII", b"ASCII")


def _declared_encoding(data: bytes) -> str | None:
    """The encoding of `data` when it is not UTF-8 (or its subset ASCII): a UTF-16 or UTF-32
    byte order mark or NUL bytes at the start, or an XML declaration that names another
    encoding (another tool would read such a file with other characters than we do)."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in data[:4]:
        return "UTF-16/UTF-32"
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    if not data.startswith(b"<?xml", start):
        return None
    match = _ENCODING.match(data, start)
    if match is None or match.group(1).upper() in _UTF8_NAMES:
        return None
    return match.group(1).decode("ascii", "replace")


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
        raise XmlRejected("XML_NOT_BYTES")
    if len(data) > max_bytes:
        raise XmlRejected("XML_TOO_LARGE", size=str(len(data)), limit=str(max_bytes))
    encoding = _declared_encoding(data)
    if encoding is not None:
        raise XmlRejected("XML_ENCODING_FORBIDDEN")
    declares = _pair_at(data, b"<!")
    match = _DECLARATIONS.search(data) if declares else None
    if match:
        kind = match.group(1).decode().upper()
        code = "XML_DTD_FORBIDDEN" if kind == "DOCTYPE" else "XML_DECLARATION_FORBIDDEN"
        raise XmlRejected(code, kind=kind)
    try:
        root = etree.fromstring(bytes(data), parser=_PARSERS[keep_whitespace])
    except etree.XMLSyntaxError as error:
        raise XmlRejected("XML_MALFORMED", error=str(error.msg)) from None
    if not declares and not _pair_at(data, b"<?", _after_declaration(data)):
        # (UTF-8) bytes with no "<!" hold no DTD, entity, declaration, comment or CDATA section,
        # and with no "<?" after the XML declaration no processing instruction either
        return root
    tree = root.getroottree()
    if getattr(tree.docinfo, "doctype", "") or tree.docinfo.internalDTD is not None:
        raise XmlRejected("XML_DTD_FORBIDDEN")
    _refuse_other_nodes(root, declares)
    return root


def _refuse_other_nodes(root: etree._Element, declares: bool) -> None:
    """XmlRejected when the document holds anything but elements, attributes and text: an
    entity, a processing instruction or a comment (inside the root or around it), a CDATA
    section."""
    around = [*root.itersiblings(preceding=True), *root.itersiblings()]
    if (
        any(isinstance(node, _INSTRUCTIONS) for node in around)
        or next(root.iter(etree.Entity, etree.ProcessingInstruction), None) is not None
    ):
        raise XmlRejected("XML_DECLARATION_FORBIDDEN")
    if (
        any(isinstance(node, etree._Comment) for node in around)
        or next(root.iter(etree.Comment), None) is not None
    ):
        raise XmlRejected("XML_COMMENT_FORBIDDEN")
    if declares:
        # with no DTD, comment or instruction, the only markup left that starts with "<!" is a
        # CDATA section (the parser has already merged it into the text around it)
        raise XmlRejected("XML_CDATA_FORBIDDEN")


_INSTRUCTIONS = (etree._Entity, etree._ProcessingInstruction)
