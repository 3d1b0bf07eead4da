"""Finding elements and reading text in a record's tree, for `facts_of` and `slots_of`.

A record is read by its shape, never by search: each element is looked for among the children
of its parent only, an element that may occur once and occurs twice is refused (a reader that
took the first and a signer or another reader that took the last would disagree), and a value
is the whole text of an element that holds text and nothing else. `parse_untrusted` already
refuses comments and processing instructions; a tree made some other way that holds one inside
a value is refused here as well, since a value cut by one would read shorter than what
canonicalisation signs.
"""

from __future__ import annotations

from functools import cache

from lxml import etree

from hocba.formats.builder import NS
from hocba.formats.safe import XmlRejected

_PREFIX = f"{{{NS}}}"


def q(name: str) -> str:
    """The qualified tag of a record element."""
    return _PREFIX + name


def missing(path: str) -> XmlRejected:
    return XmlRejected("RECORD_ELEMENT_MISSING", f"Học bạ thiếu phần tử {path}")


@cache
def _wanted(names: tuple[str, ...]) -> dict[str, str]:
    return {_PREFIX + name: name for name in names}


def children(
    parent: etree._Element, names: tuple[str, ...], path: str
) -> dict[str, etree._Element]:
    """The children of `parent` called one of `names` (each at most once), by name, in one pass;
    XmlRejected("RECORD_ELEMENT_DUPLICATED") when one of them occurs twice. `path` names
    `parent` in messages."""
    if len(names) == 1:  # one name: lxml's filter by one tag, in C, is faster than the walk
        (only,) = names
        matching = parent.iterchildren(_PREFIX + only)
        first = next(matching, None)
        if first is None:
            return {}
        if next(matching, None) is not None:
            raise XmlRejected("RECORD_ELEMENT_DUPLICATED", f"Học bạ có hai phần tử {path}/{only}")
        return {only: first}
    wanted = _wanted(names)
    found: dict[str, etree._Element] = {}
    for child in parent:  # all children and a lookup: faster than lxml's filter by several tags
        name = wanted.get(child.tag)
        if name is None:
            continue
        if name in found:
            raise XmlRejected("RECORD_ELEMENT_DUPLICATED", f"Học bạ có hai phần tử {path}/{name}")
        found[name] = child
    return found


def required(found: dict[str, etree._Element], name: str, path: str) -> etree._Element:
    element = found.get(name)
    if element is None:
        raise missing(f"{path}/{name}")
    return element


def text(element: etree._Element, path: str) -> str:
    """The whole text of `element`, which must hold text only: XmlRejected("RECORD_TEXT_INVALID")
    when it holds a child of any kind (an element, a comment, a processing instruction)."""
    if len(element):
        raise XmlRejected(
            "RECORD_TEXT_INVALID", f"Phần tử {path} của học bạ chứa nội dung không phải văn bản"
        )
    return element.text or ""


def text_of(found: dict[str, etree._Element], name: str, path: str, optional: bool = False) -> str:
    """The whole text of the child `name` among `found` ("" for an absent `optional` one)."""
    element = found.get(name)
    if element is None:
        if optional:
            return ""
        raise missing(f"{path}/{name}")
    return text(element, f"{path}/{name}")


def invalid(path: str, value: str) -> XmlRejected:
    return XmlRejected(
        "RECORD_TEXT_INVALID", f"Giá trị của phần tử {path} không hợp lệ: “{value[:40]}”"
    )
