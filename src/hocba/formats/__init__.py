"""The record's XML: schema, builder, parser, hardened parsing, and the one reader of its facts
(`facts_of`) and signature slots (`slots_of`). Pure (no Django).

This package is the one place that knows the XML format; replacing it with the Ministry's
official schema means changing `hocba-record.xsd`, `builder.py`, `parser.py`, `facts.py` and
`slots.py` only.
"""

from hocba.formats.builder import build
from hocba.formats.facts import (
    RecordEvent,
    RecordFacts,
    RecordStatus,
    facts_of,
    signed_content,
)
from hocba.formats.parser import parse, validate, xsd_text
from hocba.formats.safe import XmlRejected, parse_untrusted
from hocba.formats.slots import RecordSlots, SignatureSlot, Slot, slots_of

__all__ = [
    "RecordEvent",
    "RecordFacts",
    "RecordSlots",
    "RecordStatus",
    "SignatureSlot",
    "Slot",
    "XmlRejected",
    "build",
    "facts_of",
    "parse",
    "parse_untrusted",
    "signed_content",
    "slots_of",
    "validate",
    "xsd_text",
]
