"""What may follow the drawing of a PDF view: pyHanko's difference analysis with a policy
narrowed to signatures that show nothing on a page, document time stamps and validation data,
and, for an update it refuses, the name of what the update brought.

The drawing (the file's first revision) has no form; pyHanko's form rule expects one in the
revision it reviews from, so `_SignatureForm` lets the update that carries the seal create it.
pyHanko counts a new approval signature as form filling (which would let a visible one through);
`_InvisibleSignatures` counts one whose field shows nothing as validation data, so that the
policy can demand LTA_UPDATES of every update. The information dictionary and the XMP packet may
be written again (pyHanko does when it adds validation data) but must say what the drawing says.
Objects that nothing refers to are refused too (pyHanko's standard policy lets them pass), and an
update writing more objects than validation data ever needs is refused before it is read.

pyHanko reviews the revisions it finds by following the chain back from the `startxref` before
the file's last line that begins with `%%EOF`; other readers find that pointer otherwise (poppler,
MuPDF and pdf.js take the last word `startxref` near the end; a reader that finds the
cross-reference data damaged rebuilds it from every `N G obj` in the file). So before any update
is reviewed, every byte after the drawing is accounted for (`unaccounted`): each update is its
objects, each beginning exactly where its cross-reference table says and running to the next
one, ending with `endobj`; then that table (written in the one form ISO 32000 gives it, no object
listed twice or freed), its trailer, `startxref` with the table's own offset and `%%EOF`, with
only whitespace between; the last `%%EOF` ends the file. Nothing that a reader takes for
structure (an object header, a trailer, a startxref, an end of file) may stand anywhere else after
the drawing, not even inside a string or stream of a listed object. Every reader then finds the
revisions pyHanko reviews, and one that rebuilds the cross-reference data finds the same objects.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.decode_limits import DecodePurpose
from pyhanko.pdf_utils.metadata import model as xmp
from pyhanko.pdf_utils.metadata.xmp_xml import parse_xmp
from pyhanko.pdf_utils.misc import PdfReadError
from pyhanko.pdf_utils.reader import HistoricalResolver, PdfFileReader, RawPdfPath
from pyhanko.pdf_utils.xref import XRefSectionType
from pyhanko.sign.diff_analysis import (
    ModificationLevel,
    StandardDiffPolicy,
    SuspiciousModification,
)
from pyhanko.sign.diff_analysis.commons import (
    compare_dicts,
    compare_key_refs,
    qualify_transforming,
    safe_whitelist,
)
from pyhanko.sign.diff_analysis.form_rules_api import (
    FieldComparisonContext,
    FieldComparisonSpec,
    FormUpdate,
    FormUpdatingRule,
    _list_fields,
)
from pyhanko.sign.diff_analysis.rules.file_structure_rules import (
    CatalogModificationRule,
    ObjectStreamRule,
    XrefStreamRule,
)
from pyhanko.sign.diff_analysis.rules.form_field_rules import (
    DSSCompareRule,
    SigFieldCreationRule,
    SigFieldModificationRule,
    is_annot_visible,
    is_field_visible,
)
from pyhanko.sign.diff_analysis.rules_api import Context, ReferenceUpdate, WhitelistRule

from hocba import limits

logger = logging.getLogger(__name__)

DETAIL_CHARS = 600
"""pyHanko's explanation of a refused update, cut to this length."""

_INFO_RESTAMPED = frozenset({"/ModDate", "/Producer"})
"""What a PDF writer restamps in the information dictionary when it adds an update (pyHanko does
when it adds validation data); nothing a page or a viewer's title bar shows."""
_XMP_RESTAMPED = frozenset(
    {xmp.XMP_MODDATE, xmp.PDF_PRODUCER, xmp.ExpandedName(xmp.NS["xmp"], "MetadataDate")}
)
_CATALOG_MAY_CHANGE = frozenset({"/AcroForm", "/DSS", "/Extensions", "/Version"})
"""Catalog entries an update may set: the form that lists the signatures (vetted field by field),
the validation data (vetted by pyHanko's DSS rule), the extensions and version a signature
declares. Everything else in the catalog (pages, names and attachments, actions, the metadata
stream, viewer settings) must stay what the drawing has."""


def info_of(resolver: HistoricalResolver) -> tuple[generic.Reference | None, Any]:
    """The information dictionary of a revision, with its reference."""
    ref = resolver.trailer_view.get_value_as_reference("/Info", optional=True)
    return ref, (resolver(ref) if ref is not None else None)


def _xmp(resolver: HistoricalResolver, ref: generic.Reference) -> list[dict[Any, Any]]:
    """The XMP packet as pyHanko reads it, without the properties a writer restamps."""
    stream = resolver(ref)
    if not isinstance(stream, generic.StreamObject):
        raise SuspiciousModification("/Metadata is not a stream")
    try:
        roots = parse_xmp(io.BytesIO(stream.read_data(DecodePurpose.XMP_METADATA)))
    except ValueError as error:  # XmpXmlProcessingError
        raise SuspiciousModification(f"unreadable XMP: {error}") from error
    return [{k: v for k, v in root if k not in _XMP_RESTAMPED} for root in roots]


class _InfoKept(WhitelistRule):
    """The information dictionary (title, author, keywords) stays as drawn; an update may write
    it again with a new modification date and producer only."""

    def apply(self, old: HistoricalResolver, new: HistoricalResolver) -> Iterator[ReferenceUpdate]:
        old_ref, old_info = info_of(old)
        new_ref, new_info = info_of(new)
        if new_ref is None or old_ref is None:
            if new_ref != old_ref:
                raise SuspiciousModification("/Info added or removed")
            return
        compare_dicts(old_info, new_info, _INFO_RESTAMPED)
        context = Context.from_absolute(old, RawPdfPath("/Info"))
        for ref in safe_whitelist(old, old_ref, new_ref):
            yield ReferenceUpdate(ref, context_checked=context)


class _XmpKept(WhitelistRule):
    """The XMP packet says what the drawing's says: an update may write it again (pyHanko does
    when it adds validation data) when, read as XMP, only the restamped properties differ. The
    catalog's /Metadata entry itself is compared by the catalog rule."""

    def apply(self, old: HistoricalResolver, new: HistoricalResolver) -> Iterator[ReferenceUpdate]:
        old_ref = old.root.get_value_as_reference("/Metadata", optional=True)
        new_ref = new.root.get_value_as_reference("/Metadata", optional=True)
        if new_ref is None or new_ref != old_ref or new_ref not in _written_in(new):
            return
        if _xmp(old, old_ref) != _xmp(new, new_ref):
            raise SuspiciousModification("the XMP metadata says something else than drawn")
        context = Context.from_absolute(old, RawPdfPath("/Root", "/Metadata"))
        yield ReferenceUpdate(new_ref, context_checked=context)


def _written_in(resolver: HistoricalResolver) -> set[generic.Reference]:
    return set(resolver.explicit_refs_in_revision())


_NO_FORM = generic.DictionaryObject()


class _SignatureForm(FormUpdatingRule):
    """pyHanko's form rule, reviewing from the drawing too, which has no form: the update that
    carries the seal creates one, with nothing but the entries a signature form has, and the
    field rules vet every field it lists."""

    def apply(
        self, old: HistoricalResolver, new: HistoricalResolver
    ) -> Iterator[tuple[ModificationLevel, FormUpdate]]:
        if "/AcroForm" in old.root:
            yield from super().apply(old, new)
            return
        form_context = Context.from_absolute(old, RawPdfPath("/Root", "/AcroForm"))
        _, form = yield from qualify_transforming(
            ModificationLevel.LTA_UPDATES,
            compare_key_refs("/AcroForm", old, old.root, new.root),
            transform=FormUpdate.curry_ref(field_name=None, context_checked=form_context),
        )
        if form is None:
            return
        compare_dicts(_NO_FORM, form, frozenset({"/Fields", "/SigFlags"}))
        assert isinstance(form, generic.DictionaryObject)  # compare_dicts refused anything else
        fields_path = RawPdfPath("/Root", "/AcroForm", "/Fields")
        _, fields = yield from qualify_transforming(
            ModificationLevel.LTA_UPDATES,
            compare_key_refs("/Fields", old, _NO_FORM, form),
            transform=FormUpdate.curry_ref(
                field_name=None, context_checked=Context.from_absolute(old, fields_path)
            ),
        )
        specs = dict(_list_fields(generic.ArrayObject(), fields, old_path=fields_path))
        context = FieldComparisonContext(field_specs=specs, old=old, new=new)
        for rule in self.field_rules:
            yield from rule.apply(context)


class _InvisibleSignatures(SigFieldModificationRule):
    """pyHanko's rule for filling signature fields, where a signature whose field shows nothing
    on any page counts as validation data (pyHanko counts it as form filling, which would also
    let a visible signature through)."""

    def check_form_field(
        self, fq_name: str, spec: FieldComparisonSpec, context: FieldComparisonContext
    ) -> Iterable[tuple[ModificationLevel, FormUpdate]]:
        field = spec.new_field
        value = None
        if field is not None and spec.field_type == "/Sig" and not is_field_visible(field):
            value = field.get_value_as_reference("/V", optional=True)
        for level, update in super().check_form_field(fq_name, spec, context):
            if value is not None and update.updated_ref == value:
                level = min(level, ModificationLevel.LTA_UPDATES)
            yield level, update


VIEW_POLICY = StandardDiffPolicy(
    global_rules=[
        CatalogModificationRule(ignored_keys=_CATALOG_MAY_CHANGE),
        _InfoKept().as_qualified(ModificationLevel.LTA_UPDATES),
        _XmpKept().as_qualified(ModificationLevel.LTA_UPDATES),
        XrefStreamRule().as_qualified(ModificationLevel.LTA_UPDATES),
        ObjectStreamRule().as_qualified(ModificationLevel.LTA_UPDATES),
        DSSCompareRule().as_qualified(ModificationLevel.LTA_UPDATES),
    ],
    form_rule=_SignatureForm(field_rules=[SigFieldCreationRule(), _InvisibleSignatures()]),
    ignore_orphaned_objects=False,
)
"""pyHanko's standard policy narrowed to what may follow a drawing: new signature fields that
show nothing, their signatures and document time stamps, validation data, and the information
dictionary and XMP packet written again with nothing but a new date and producer. Anything that
is not explained at pyHanko's LTA_UPDATES level is refused."""


# --- naming what an update brought -----------------------------------------------------------

TREE_NODES = 10_000
"""Nodes visited in a page tree or a name tree before giving up on naming what changed."""


def _pages(resolver: HistoricalResolver) -> list[tuple[generic.Reference, Any]]:
    """The pages in order, each with its reference (a bounded walk of the page tree)."""
    found: list[tuple[generic.Reference, Any]] = []
    pending = [resolver.root.raw_get("/Pages")]
    seen: set[generic.Reference] = set()
    while pending and len(seen) < TREE_NODES:
        node = pending.pop()
        ref = node.reference
        if ref in seen:
            continue
        seen.add(ref)
        value = node.get_object()
        if value.get("/Type") == "/Pages":
            pending.extend(reversed(list(value.raw_get("/Kids"))))
        else:
            found.append((ref, value))
    return found


def _annotations(page: Any) -> set[generic.Reference]:
    annots = page.get("/Annots") if "/Annots" in page else None
    return {a.reference for a in annots or () if isinstance(a, generic.IndirectObject)}


def _is_signature_widget(annot: Any) -> bool:
    parent = annot.get("/Parent") if "/Parent" in annot else None
    return annot.get("/FT") == "/Sig" or (parent is not None and parent.get("/FT") == "/Sig")


def _new_annotations(old: HistoricalResolver, new: HistoricalResolver) -> list[Any]:
    before = dict(_pages(old))
    added = []
    for ref, page in _pages(new):
        earlier = before.get(ref)
        known = _annotations(earlier) if earlier is not None else set()
        added += [new(a) for a in _annotations(page) - known]
    return added


def _page_added(old: HistoricalResolver, new: HistoricalResolver) -> bool:
    return [ref for ref, _ in _pages(old)] != [ref for ref, _ in _pages(new)]


def _page_content_changed(old: HistoricalResolver, new: HistoricalResolver) -> bool:
    written: set[generic.Reference] = set()
    for revision in range(1, new.revision + 1):
        written |= new.reader.xrefs.explicit_refs_in_revision(revision)
    after = dict(_pages(new))
    for ref, page in _pages(old):
        if not compare_dicts(page, after[ref], frozenset({"/Annots"}), raise_exc=False):
            return True
        drawn = generic.DictionaryObject(
            {k: page.raw_get(k) for k in page if k not in ("/Parent", "/Annots")}
        )
        if old.collect_dependencies(drawn) & written:
            return True
    return False


def _visible_signature(old: HistoricalResolver, new: HistoricalResolver) -> bool:
    return any(
        _is_signature_widget(a) and (is_annot_visible(a) or "/AP" in a)
        for a in _new_annotations(old, new)
    )


def _annotation_added(old: HistoricalResolver, new: HistoricalResolver) -> bool:
    return any(not _is_signature_widget(a) for a in _new_annotations(old, new))


def _form_field_added(old: HistoricalResolver, new: HistoricalResolver) -> bool:
    def fields(resolver: HistoricalResolver) -> dict[generic.Reference, Any]:
        form = resolver.root.get("/AcroForm") if "/AcroForm" in resolver.root else None
        listed = form.raw_get("/Fields") if form is not None and "/Fields" in form else ()
        return {f.reference: f.get_object() for f in listed}

    before = fields(old)
    return any(f.get("/FT") != "/Sig" for ref, f in fields(new).items() if ref not in before)


def _catalog_changed(old: HistoricalResolver, new: HistoricalResolver) -> bool:
    return not compare_dicts(old.root, new.root, _CATALOG_MAY_CHANGE, raise_exc=False)


def _metadata_changed(old: HistoricalResolver, new: HistoricalResolver) -> bool:
    (_, old_info), (_, new_info) = info_of(old), info_of(new)
    if old_info is None or new_info is None:
        return old_info is not new_info
    if not compare_dicts(old_info, new_info, _INFO_RESTAMPED, raise_exc=False):
        return True
    old_ref = old.root.get_value_as_reference("/Metadata", optional=True)
    new_ref = new.root.get_value_as_reference("/Metadata", optional=True)
    if old_ref is None or new_ref is None:
        return old_ref != new_ref
    try:
        return _xmp(old, old_ref) != _xmp(new, new_ref)
    except (PdfReadError, SuspiciousModification):  # a packet past its limit, or not XMP
        return True


_CHANGES: tuple[tuple[str, Callable[[HistoricalResolver, HistoricalResolver], bool]], ...] = (
    ("PDF_PAGE_ADDED", _page_added),
    ("PDF_PAGE_CONTENT_CHANGED", _page_content_changed),
    ("PDF_VISIBLE_SIGNATURE", _visible_signature),
    ("PDF_ANNOTATION_ADDED", _annotation_added),
    ("PDF_FORM_FIELD_ADDED", _form_field_added),
    ("PDF_METADATA_CHANGED", _metadata_changed),
    ("PDF_CATALOG_CHANGED", _catalog_changed),
)
"""What a refused update is named by, the first that holds; PDF_UPDATE_NOT_ALLOWED otherwise.
The verdict is pyHanko's (VIEW_POLICY); these only say what a person would notice."""


def _named(old: HistoricalResolver, new: HistoricalResolver) -> str:
    for code, holds in _CHANGES:
        try:
            if holds(old, new):
                return code
        except Exception:  # a structure too broken to tell only makes the name less precise
            logger.debug("could not tell whether %s", code, exc_info=True)
    return "PDF_UPDATE_NOT_ALLOWED"


# --- every byte after the drawing -------------------------------------------------------------

_SPACE = re.compile(rb"[ \t\n\r\f\x00]*")
"""PDF whitespace (ISO 32000-1, 7.2.2), none or more."""
_TABLE = re.compile(rb"xref(?:\r\n|\n|\r)")
_SUBSECTION = re.compile(rb"(\d{1,10}) (\d{1,10})(?:\r\n|\n|\r)")
_ENTRY = re.compile(rb"(\d{10}) (\d{5}) ([nf])(?: \r| \n|\r\n)")
"""A cross-reference entry as ISO 32000-1, 7.5.4 writes it: exactly 20 bytes."""
_FREE_HEAD = (0, 65535)
"""The one free entry an update writes: object 0, the head of the (empty) list of free objects."""
_TRAILER = re.compile(rb"trailer[ \t\n\r\f\x00]*")
_OBJECT = re.compile(rb"(\d{1,10}) (\d{1,5}) obj[ \t\n\r\f\x00]")
_ENDOBJ = re.compile(rb"[ \t\n\r\f\x00>\])]endobj[ \t\n\r\f\x00]*\Z")
"""The end of an object: `endobj` after whitespace or the end of its value, then whitespace
only (up to the next object, or the table)."""
_END = re.compile(rb"(startxref)[ \t\n\r\f\x00]+(\d{1,20})[ \t\n\r\f\x00]+(%%EOF)(?:\r\n|\n|\r)?")
_MARKER = re.compile(
    rb"(?<!\d)\d++[ \t\n\r\f\x00]++\d++[ \t\n\r\f\x00]++obj|trailer|startxref|%%EOF"
)
"""What a reader looking for the end of a file, or rebuilding a damaged cross-reference table,
takes for structure: an object header, a trailer, a startxref pointer, an end-of-file marker."""
SHOWN_BYTES = 32
"""Bytes of an unaccounted place quoted in the explanation."""


class _Unaccounted(Exception):
    """Bytes after the drawing that are not what pyHanko reviews: (code, revision, detail)."""

    def __init__(self, code: str, revision: int, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.revision = revision
        self.detail = detail


def _quoted(data: bytes, at: int) -> str:
    return repr(data[at : at + SHOWN_BYTES])


class _Layout:
    """Walks the revisions of a file in order, accounting for each byte (see the module's
    docstring); `structure` collects where each object header, trailer, startxref and %%EOF of
    an update begins."""

    def __init__(self, reader: PdfFileReader, data: bytes) -> None:
        self.reader = reader
        self.data = data
        self.structure: set[int] = set()

    def space(self, at: int) -> int:
        match = _SPACE.match(self.data, at)
        assert match is not None  # none or more
        return match.end()

    def fail(self, code: str, revision: int, detail: str) -> _Unaccounted:
        # the drawing is not reviewed here but compared with a new drawing, which then fails
        return _Unaccounted("VIEW_MISMATCH" if revision == 0 else code, revision, detail)

    def table(self, revision: int, at: int) -> tuple[dict[int, tuple[int, int]], set[int], int]:
        """The in-use entries of the cross-reference table at `at` ({number: (generation,
        offset)}), the objects it frees, and where it ends."""
        head = _TABLE.match(self.data, at)
        if head is None:
            raise self.fail("PDF_UNLISTED_OBJECT", revision, f"no table at {at}")
        at = head.end()
        used: dict[int, tuple[int, int]] = {}
        freed: set[int] = set()
        seen: set[int] = set()
        while (subsection := _SUBSECTION.match(self.data, at)) is not None:
            at = subsection.end()
            first, count = int(subsection[1]), int(subsection[2])
            for number in range(first, first + count):
                entry = _ENTRY.match(self.data, at)
                if entry is None or number in seen:
                    raise self.fail(
                        "PDF_UNLISTED_OBJECT", revision, f"cross-reference entry at {at}"
                    )
                seen.add(number)
                at = entry.end()
                generation = int(entry[2])
                if entry[3] == b"n" and number != 0:
                    used[number] = (generation, int(entry[1]))
                elif entry[3] == b"f" and (number, generation) != _FREE_HEAD:
                    freed.add(number)
                elif entry[3] == b"n":
                    raise self.fail("PDF_UNLISTED_OBJECT", revision, "object 0 in use")
        if not seen:
            raise self.fail("PDF_UNLISTED_OBJECT", revision, f"empty table at {at}")
        return used, freed, at

    def revision(self, revision: int, start: int) -> int:
        """Accounts for `revision`, which begins at `start`; where it ends."""
        info = self.reader.xrefs.get_xref_container_info(revision)
        xref_at = info.declared_startxref
        if info.xref_section_type is not XRefSectionType.STANDARD:
            raise self.fail("PDF_UPDATE_NOT_ALLOWED", revision, "not a cross-reference table")
        used, freed, at = self.table(revision, xref_at)
        section = self.reader.xrefs.get_xref_data(revision)
        if section.standard_xrefs != used or set(section.freed) != freed:
            raise self.fail("PDF_UNLISTED_OBJECT", revision, "the table reads two ways")
        if freed and revision:
            raise self.fail("PDF_UPDATE_NOT_ALLOWED", revision, f"objects freed: {sorted(freed)}")
        trailer = _TRAILER.match(self.data, self.space(at))
        if trailer is None or trailer.end() != info.end_location:
            raise self.fail("PDF_UNLISTED_OBJECT", revision, f"no trailer after the table at {at}")
        stream = self.reader.stream
        stream.seek(trailer.end())
        generic.DictionaryObject.read_from_stream(stream, generic.TrailerReference(self.reader))
        end = _END.match(self.data, self.space(stream.tell()))
        if end is None or int(end[2]) != xref_at:
            detail = f"no startxref {xref_at} and %%EOF after the trailer"
            raise self.fail("PDF_UNLISTED_OBJECT", revision, detail)
        if revision:
            self._objects(revision, start, xref_at, used)
            self.structure |= {xref_at, trailer.start(), end.start(1), end.start(3)}
        return end.end()

    def _objects(
        self, revision: int, start: int, xref_at: int, used: dict[int, tuple[int, int]]
    ) -> None:
        """From `start` to the table at `xref_at`: the objects the table lists, nothing else.
        Each begins where the table says, with its own number (`N G obj`), and runs to the next
        one listed (or the table), ending with `endobj`; whitespace only before the first."""
        listed = sorted(
            (offset, number, generation) for number, (generation, offset) in used.items()
        )
        outside = [(n, g) for offset, n, g in listed if not start <= offset < xref_at]
        if outside:
            detail = f"object {outside[0][0]} {outside[0][1]} listed outside its update"
            raise self.fail("PDF_UNLISTED_OBJECT", revision, detail)
        if len({offset for offset, _, _ in listed}) != len(listed):
            raise self.fail("PDF_UNLISTED_OBJECT", revision, "two objects listed at one place")
        first = self.space(start)
        if first != (listed[0][0] if listed else xref_at):
            detail = f"unlisted bytes at {first}: {_quoted(self.data, first)}"
            raise self.fail("PDF_UNLISTED_OBJECT", revision, detail)
        ends = [offset for offset, _, _ in listed[1:]] + [xref_at]
        for (offset, number, generation), end in zip(listed, ends, strict=True):
            header = _OBJECT.match(self.data, offset, end)
            if header is None or (int(header[1]), int(header[2])) != (number, generation):
                detail = f"object {number} {generation} listed at {offset}: "
                raise self.fail(
                    "PDF_UNLISTED_OBJECT", revision, detail + _quoted(self.data, offset)
                )
            if _ENDOBJ.search(self.data, header.end(), end) is None:
                detail = f"object {number} {generation} does not end with endobj before {end}"
                raise self.fail("PDF_UNLISTED_OBJECT", revision, detail)
            self.structure.add(offset)


def unaccounted(reader: PdfFileReader) -> tuple[str, int, str] | None:
    """Bytes after the drawing that pyHanko's review would not see, as (code, revision,
    detail): PDF_TRAILING_DATA after the last revision's `%%EOF`, PDF_UNLISTED_OBJECT inside an
    update (anything its table does not list where it says, or structure hidden in a listed
    object), PDF_UPDATE_NOT_ALLOWED for an update that is not a cross-reference table or frees
    objects, VIEW_MISMATCH when the first revision is not laid out as a drawing is. None when
    every byte is accounted for."""
    stream = reader.stream
    stream.seek(0)
    data = stream.read()
    layout = _Layout(reader, data)
    last = reader.xrefs.total_revisions - 1
    try:
        drawn = end = layout.revision(0, 0)
        for revision in range(1, last + 1):
            end = layout.revision(revision, end)
    except _Unaccounted as found:
        return found.code, found.revision, found.detail[:DETAIL_CHARS]
    if layout.space(end) != len(data):
        detail = f"{len(data) - end} bytes after the last %%EOF: {_quoted(data, end)}"
        return "PDF_TRAILING_DATA", last, detail[:DETAIL_CHARS]
    for marker in _MARKER.finditer(data, drawn):
        if marker.start() not in layout.structure:
            detail = f"{marker[0][:SHOWN_BYTES]!r} at {marker.start()}, inside a listed object"
            return "PDF_UNLISTED_OBJECT", _revision_at(reader, marker.start()), detail
    return None


def _revision_at(reader: PdfFileReader, at: int) -> int:
    """The first revision whose table lies after `at`."""
    last = int(reader.xrefs.total_revisions) - 1
    for revision in range(1, last):
        if at < reader.xrefs.get_xref_container_info(revision).declared_startxref:
            return revision
    return last


def review_updates(reader: PdfFileReader) -> tuple[str, int, str] | None:
    """The first revision after the drawing that is not allowed, as (code naming what it
    brought, revision, explanation); None when every update is allowed. An update that writes
    more than `limits.PDF_UPDATE_OBJECTS` objects is refused unread; then every byte after the
    drawing must be accounted for (`unaccounted`); then `VIEW_POLICY` reviews each update."""
    total = reader.xrefs.total_revisions
    for revision in range(1, total):
        written = len(reader.xrefs.get_xref_data(revision).explicit_refs_in_revision)
        if written > limits.PDF_UPDATE_OBJECTS:
            return "PDF_UPDATE_NOT_ALLOWED", revision, f"{written} objects in one update"
    hidden = unaccounted(reader)
    if hidden is not None:
        return hidden
    drawing = reader.get_historical_resolver(0)
    for revision in range(1, total):
        update = reader.get_historical_resolver(revision)
        try:
            result = VIEW_POLICY.apply(drawing, update)
        except Exception as refused:  # SuspiciousModification, or what pyHanko cannot read
            detail = str(refused) or type(refused).__name__
        else:
            if result.modification_level <= ModificationLevel.LTA_UPDATES:
                continue
            detail = f"modification level {result.modification_level.name}"
        return _named(drawing, update), revision, detail[:DETAIL_CHARS]
    return None
