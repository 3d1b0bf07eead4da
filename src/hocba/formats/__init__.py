"""The record's XML: schema, builder, parser, hardened parsing. Pure (no Django).

This package is the one place that knows the XML format; replacing it with the Ministry's
official schema means changing `hocba-record.xsd`, `builder.py` and `parser.py` only.
"""

from hocba.formats.builder import build
from hocba.formats.parser import parse, validate, xsd_text
from hocba.formats.safe import XmlRejected, parse_untrusted

__all__ = ["XmlRejected", "build", "parse", "parse_untrusted", "validate", "xsd_text"]
