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
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.decode_limits import DecodePurpose
from pyhanko.pdf_utils.metadata import model as xmp
from pyhanko.pdf_utils.metadata.xmp_xml import parse_xmp
from pyhanko.pdf_utils.misc import PdfReadError
from pyhanko.pdf_utils.reader import HistoricalResolver, PdfFileReader, RawPdfPath
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


def review_updates(reader: PdfFileReader) -> tuple[str, int, str] | None:
    """The first revision after the drawing that `VIEW_POLICY` refuses, as (code naming what it
    brought, revision, pyHanko's explanation); None when every update is allowed."""
    drawing = reader.get_historical_resolver(0)
    for revision in range(1, reader.xrefs.total_revisions):
        written = len(reader.xrefs.get_xref_data(revision).explicit_refs_in_revision)
        if written > limits.PDF_UPDATE_OBJECTS:
            return "PDF_UPDATE_NOT_ALLOWED", revision, f"{written} objects in one update"
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
