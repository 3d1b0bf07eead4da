"""The record's XML: schema, builder, parser, hardened parsing. Pure (no Django).

This package is the one place that knows the XML format; replacing it with the Ministry's
official schema means changing `hocba-record.xsd`, `builder.py` and `parser.py` only.
"""

from hocba.records.xml.builder import build
from hocba.records.xml.parser import parse, validate, xsd_text
from hocba.records.xml.safe import XmlRejected, parse_untrusted

__all__ = ["XmlRejected", "build", "parse", "parse_untrusted", "validate", "xsd_text"]
