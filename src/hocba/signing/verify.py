"""Verification of a record: the report of `docs/contracts/verify.md`.

Every check says what holds and why: the schema; each signature's integrity and target; the
signer's certificate (chain to the configured trust anchors, validity at signing time, key usage,
and that it belongs to the person or school the slot names); revocation (OCSP, then CRLs;
UNKNOWN when nobody answers); the signing order; completeness; the record's own status.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from lxml import etree

from hocba import limits
from hocba.formats import (
    RecordFacts,
    RecordSlots,
    SignatureSlot,
    XmlRejected,
    facts_of,
    parse_untrusted,
    signed_content,
    slots_of,
    validate,
)
from hocba.formats.builder import NS
from hocba.formats.report import (
    Check,
    CheckName,
    CheckStatus,
    Code,
    RecordInfo,
    Report,
    Verdict,
    xml_verdict,
)
from hocba.signing import profile
from hocba.signing.caches import Bounded
from hocba.signing.certs import (
    TrustStore,
    can_sign_documents,
    common_name,
    personal_id_of,
    tax_code_of,
)
from hocba.signing.revocation import Answer, RevocationChecker, Status

logger = logging.getLogger(__name__)


def _q(name: str) -> str:
    return f"{{{NS}}}{name}"


@dataclass(frozen=True)
class CertFacts:
    """What verification needs to know about a certificate, computed once per certificate."""

    cert: x509.Certificate
    chain: list[x509.Certificate] | None
    windows: tuple[tuple[dt.datetime, dt.datetime], ...]
    """Validity period of each certificate of the chain."""
    can_sign: bool
    personal_id: str | None
    tax_code: str | None
    name: str
    serial: int


@dataclass
class _Shared:
    """What the signatures of one record share while it is verified: the digests of their
    targets, the certificates they carry (one object per certificate text), and what the
    verifier learned about each certificate (a record's fifteen signatures come from a handful
    of certificates, asked of the process's caches once each)."""

    digests: dict[int, str] = field(default_factory=dict)
    certificates: dict[str, Any] = field(default_factory=dict)
    known: dict[int, tuple[object, CertFacts | None, Answer | None]] = field(default_factory=dict)
    """By the certificate object's id; the entry holds the object, so the id stays its own."""


@dataclass
class Verifier:
    """Holds what does not change between records: trust store, revocation answers, caches."""

    trust: TrustStore
    revocation: RevocationChecker = field(default_factory=RevocationChecker)
    _facts: Bounded[int, CertFacts] = field(
        default_factory=lambda: Bounded(limits.CERTIFICATE_FACTS_CACHED), repr=False
    )

    def verify(self, data: bytes, now: dt.datetime | None = None) -> Report:
        """The report for the record XML `data`: always a report, never an exception."""
        try:
            root = parse_untrusted(data, keep_whitespace=True)
        except XmlRejected as rejected:
            return Report(Verdict.MALFORMED, None, (_rejected(rejected),))
        except Exception:
            return _unreadable(None)
        return self.verify_parsed(root, data)

    def verify_parsed(self, root: etree._Element, data: bytes | None = None) -> Report:
        """The report for a record already read with `parse_untrusted(…, keep_whitespace=True)`
        (for callers that go on using the tree; `data`, the bytes it was read from, if at hand,
        spares a walk of the tree). Always a report: whatever a hostile file makes a library
        raise on the way (a certificate, a revocation answer, anything not foreseen) ends as a
        MALFORMED report with the code XML_UNREADABLE, and is logged."""
        return self.verify_read(root, data)[0]

    def verify_read(
        self, root: etree._Element, data: bytes | None = None
    ) -> tuple[Report, RecordFacts | None]:
        """`verify_parsed`'s report, and the record's facts (`facts_of`) as verification read
        them, for a caller that goes on to act on them (the warehouse reads each record once):
        None when they could not be read, and the report is then MALFORMED."""
        try:
            return self._verify_parsed(root, data)
        except Exception:
            return _unreadable(root), None

    def _verify_parsed(
        self, root: etree._Element, data: bytes | None = None
    ) -> tuple[Report, RecordFacts | None]:
        if root.tag != _q("HOC_BA"):
            schema_invalid = Check(SCHEMA, FAIL, Code.XML_SCHEMA_INVALID)
            return Report(Verdict.MALFORMED, None, (schema_invalid,)), None
        checks: list[Check] = []
        try:
            validate(root)
            _refuse_unsigned_frame(root)
            _refuse_other_namespaces(root, data)
            facts, slots = facts_of(root), slots_of(root)
            checks.append(_passed(SCHEMA))
        except XmlRejected as rejected:
            refused = Report(Verdict.MALFORMED, _record_info(root, ""), (_rejected(rejected),))
            return refused, None
        return self._signatures(root, facts, slots, checks), facts

    # --- the signatures ------------------------------------------------------------------

    def _signatures(
        self,
        root: etree._Element,
        facts: RecordFacts,
        record_slots: RecordSlots,
        checks: list[Check],
    ) -> Report:
        ids = profile.ids_of(root)
        duplicates = {k for k, v in ids.items() if len(v) > 1}
        slots = list(record_slots)
        shared = _Shared()
        times: dict[str, list[dt.datetime]] = {
            "GVBM": [],
            "GVCN": [],
            "CBQL": [],
            "KY_PHAT_HANH": [],
        }
        signed_subjects: set[str] = set()
        for _outside in record_slots.outside(root):
            checks.append(Check(SIGNATURE, FAIL, Code.UNEXPECTED_SIGNATURE, slot="?"))
        for slot in slots:
            signatures = slot.signatures
            if not slot.only_signatures:
                # a slot holds signatures and nothing else: no ds:Object with a copy of the
                # record, no other element, no text
                checks.append(
                    Check(
                        SIGNATURE, FAIL, Code.UNEXPECTED_CONTENT, slot=slot.name, target=slot.target
                    )
                )
            for signature in signatures:
                ok = self._one(slot, signature, ids, duplicates, shared, checks)
                if ok is not None:
                    times[slot.name].append(ok)
                    if slot.name == "GVBM":
                        signed_subjects.add(slot.target)
        event = facts.event
        checks.append(self._order(slots, times, signed_subjects, event))
        missing = self._missing(slots, times, signed_subjects, event)
        checks.append(
            Check(
                CheckName.COMPLETE,
                FAIL,
                Code.MISSING_SIGNATURE,
                (("missing", ", ".join(missing)),),
            )
            if missing
            else _passed(CheckName.COMPLETE)
        )
        revoked = facts.revoked
        if revoked:
            checks.append(Check(CheckName.RECORD_STATUS, FAIL, Code.RECORD_REVOKED))
        else:
            checks.append(_passed(CheckName.RECORD_STATUS))
        verdict = xml_verdict(checks)
        status = (
            "REVOKED"
            if revoked
            else "ISSUED"
            if not missing and verdict in (Verdict.VALID, Verdict.INDETERMINATE)
            else "SIGNING"
            if any(times.values())
            else "DRAFT"
        )
        return Report(verdict, _record_of(facts, status), tuple(checks))

    def facts(self, cert: x509.Certificate) -> CertFacts:
        # the profile hands back the same object for the same certificate text; the entry keeps
        # the object alive, so its id cannot be reused while it is a key here. Only certificates
        # that chain to a trust anchor are kept: anyone can make others, as many as they like
        key = id(cert)
        found = self._facts.get(key)
        if found is None or found.cert is not cert:
            chain = self.trust.chain(cert)
            found = CertFacts(
                cert=cert,
                chain=chain,
                windows=tuple((c.not_valid_before_utc, c.not_valid_after_utc) for c in chain or ()),
                can_sign=can_sign_documents(cert),
                personal_id=personal_id_of(cert),
                tax_code=tax_code_of(cert),
                name=common_name(cert),
                serial=cert.serial_number,
            )
            if chain is not None:
                self._facts.put(key, found)
                profile.keep_certificate(cert)
        return found

    def _one(
        self,
        slot: SignatureSlot,
        signature: etree._Element,
        ids: dict[str, list[etree._Element]],
        duplicates: set[str],
        shared: _Shared,
        checks: list[Check],
    ) -> dt.datetime | None:
        """Check one signature; its signing time when everything about it holds."""
        result = profile.check(signature, ids, shared.digests, shared.certificates)
        memo = shared.known.get(id(result.certificate))
        if memo is not None and memo[0] is result.certificate:  # the entry holds the object
            _, facts, answer = memo
        else:
            answer = None
            try:
                facts = self.facts(result.certificate) if result.certificate is not None else None
            except ValueError:  # cryptography reads certificate fields lazily: garbled DER fails
                facts = None
            shared.known[id(result.certificate)] = (result.certificate, facts, None)
        signer = facts.name if facts is not None else ""
        problem = result.problem
        if problem is None and facts is None:
            problem = "MALFORMED_SIGNATURE"
        if slot.target in duplicates:
            # a wrapping attempt says more than whatever else is wrong with the signature
            problem = "DUPLICATE_ID"
        elif problem is None and (
            result.target_id != slot.target
            or slot.expected is None
            or ids.get(slot.target, [None])[0] is not slot.expected
        ):
            problem = "WRONG_TARGET"
        if problem is not None:
            checks.append(
                Check(
                    SIGNATURE,
                    FAIL,
                    Code(problem),
                    slot=slot.name,
                    target=slot.target,
                    signer=signer,
                )
            )
            return None
        checks.append(Check(SIGNATURE, PASS, slot=slot.name, target=slot.target, signer=signer))
        cert = result.certificate
        when = result.signing_time
        assert cert is not None and when is not None and facts is not None
        chain = facts.chain
        code = None
        if chain is None:
            code = Code.CHAIN_UNTRUSTED
        elif not all(start <= when <= end for start, end in facts.windows):
            code = Code.CERT_NOT_VALID_AT_SIGNING
        elif not facts.can_sign:
            code = Code.KEY_USAGE
        elif (
            slot.name == "KY_PHAT_HANH" and (not slot.tax_code or facts.tax_code != slot.tax_code)
        ) or (slot.name != "KY_PHAT_HANH" and facts.personal_id != slot.person):
            code = Code.SIGNER_MISMATCH
        checks.append(
            Check(CheckName.CERTIFICATE, FAIL, code, slot=slot.name)
            if code
            else _passed(CheckName.CERTIFICATE, slot.name)
        )
        if chain is None or len(chain) < 2:
            checks.append(Check(REVOCATION, UNKNOWN, Code.REVOCATION_UNKNOWN, slot=slot.name))
            return None
        if answer is None:
            answer = self.revocation.status(cert, chain[1], facts.serial)
            shared.known[id(cert)] = (cert, facts, answer)
        if answer.invalidates(when):
            # the signing time is the signer's own claim: only a revocation whose reason says
            # nothing against the key leaves the signatures dated before it standing
            before = answer.revoked_at is not None and answer.revoked_at <= when
            revoked = Code.CERT_REVOKED if before else Code.CERT_REVOKED_UNSAFE_REASON
            reason = answer.reason.value if answer.reason is not None else None
            checks.append(
                Check(
                    REVOCATION, FAIL, revoked, slot=slot.name, source=answer.source, reason=reason
                )
            )
            return None
        if answer.status is Status.UNKNOWN:
            checks.append(Check(REVOCATION, UNKNOWN, Code.OCSP_UNREACHABLE, slot=slot.name))
        else:
            checks.append(_passed(REVOCATION, slot.name, answer.source))
        return None if code else when

    @staticmethod
    def _order(
        slots: list[SignatureSlot],
        times: dict[str, list[dt.datetime]],
        signed: set[str],
        event: str,
    ) -> Check:
        teachers = {s.target for s in slots if s.name == "GVBM"}
        steps = [
            ("GVBM", bool(teachers) and teachers <= signed),
            ("GVCN", bool(times["GVCN"])),
            ("CBQL", bool(times["CBQL"])),
            ("KY_PHAT_HANH", bool(times["KY_PHAT_HANH"])),
        ]
        if event == "CANCEL":
            steps = steps[2:]
        for (before, done), (after, later) in itertools.pairwise(steps):
            if later and not done:
                steps_out = (("later", after), ("earlier", before))
                return Check(CheckName.ORDER, FAIL, Code.ORDER_VIOLATION, steps_out)
        sequence = [times[name] for name, _ in steps]
        for earlier, later_times in itertools.pairwise(sequence):
            if earlier and later_times and min(later_times) < max(earlier):
                return Check(CheckName.ORDER, FAIL, Code.ORDER_VIOLATION)
        return _passed(CheckName.ORDER)

    @staticmethod
    def _missing(
        slots: list[SignatureSlot],
        times: dict[str, list[dt.datetime]],
        signed: set[str],
        event: str,
    ) -> list[str]:
        if event == "CANCEL":
            return [] if times["CBQL"] else ["CBQL"]
        missing = [
            f"GVBM {s.subject}" for s in slots if s.name == "GVBM" and s.target not in signed
        ]
        missing += [name for name in ("GVCN", "CBQL", "KY_PHAT_HANH") if not times[name]]
        return missing


SCHEMA, SIGNATURE, REVOCATION = CheckName.SCHEMA, CheckName.SIGNATURE, CheckName.REVOCATION
PASS, FAIL, UNKNOWN = CheckStatus.PASS, CheckStatus.FAIL, CheckStatus.UNKNOWN


@functools.cache
def _passed(check: CheckName, slot: str | None = None, source: str | None = None) -> Check:
    """A passed check that names no signer: the same few values for every record (slot names
    and revocation sources come from fixed sets), so each is built once and shared (a record of
    fifteen signatures has some forty of them)."""
    return Check(check, PASS, slot=slot, source=source)


def _rejected(rejected: XmlRejected) -> Check:
    """The failed schema check of a file the hardened parser or the schema refused."""
    return Check(SCHEMA, FAIL, Code(rejected.code), tuple(rejected.params.items()))


def signed_content_digest(data: bytes) -> str | None:
    """The base64 SHA-256 of the canonical `DU_LIEU_HOC_BA` (`#data`) of the record XML `data`:
    what the principal's and the school's signatures reference, holding everything the other
    signatures cover. Two records with intact signatures and the same digest carry the same
    signed content, however their bytes differ. None when `data` is not a record."""
    try:
        signed = signed_content(parse_untrusted(data, keep_whitespace=True))
    except XmlRejected:
        return None
    return profile.digest_b64(signed)


_FRAME_ATTRIBUTES = ["PhienBanDinhDang"]


def _refuse_unsigned_frame(root: etree._Element) -> None:
    """XmlRejected when the parts of a valid record that no signature covers carry anything the
    schema does not give them: the root's attributes (an `xsi:` attribute passes the schema),
    text or whitespace between the root's parts or in `PHAT_HANH_HOC_BA`. (The slots are checked
    with the signatures; everything inside `#data` is signed.)"""
    data, issue = root[0], root[1]
    if (
        root.keys() != _FRAME_ATTRIBUTES
        or root.text is not None
        or data.tail is not None
        or issue.text is not None
        or issue.tail is not None
        or len(issue.attrib)
        or any(len(slot.attrib) or slot.tail is not None for slot in issue)
    ):
        raise XmlRejected("XML_UNEXPECTED_CONTENT")


_NAMESPACES = frozenset({("", NS), ("ds", profile.DS), ("xades", profile.XADES)})
"""The namespace declarations a record has: its own as the default namespace, xmldsig's as
`ds`, XAdES's as `xades` (what the builder and `profile.prepare` write)."""
_OTHER_XMLNS = re.compile(
    b"xmlns(?!"
    + b"|".join(
        re.escape(f'="{uri}"' if not prefix else f':{prefix}="{uri}"').encode()
        for prefix, uri in sorted(_NAMESPACES)
    )
    + b")"
)
"""An "xmlns" in the bytes not followed by exactly one of the declarations above."""


def _refuse_other_namespaces(root: etree._Element, data: bytes | None = None) -> None:
    """XmlRejected when any element of the record declares another namespace (or one of these
    under another prefix). Exclusive canonicalisation leaves out a declaration that nothing
    uses, so its URI, whatever it holds, is signed by no one.

    The tree's declarations are walked (lxml's `iterwalk`, `start-ns` events: a few percent of
    a verification), unless the record's UTF-8 bytes `data` show none could be another: every
    declaration's name starts with "xmlns" in the bytes, so when every "xmlns" there is followed
    by exactly `="<uri>"` or `:<prefix>="<uri>"` of an allowed pair (none of whose URIs holds a
    character reference), every declaration is an allowed one. Anything else in the bytes (an
    "xmlns" in a text, another spelling of an allowed declaration) goes to the walk, which
    decides."""
    if data is not None and _OTHER_XMLNS.search(data) is None:
        return
    for _event, declared in etree.iterwalk(root, events=("start-ns",)):
        if declared not in _NAMESPACES:
            raise XmlRejected("XML_NAMESPACE_FORBIDDEN")


def _unreadable(root: etree._Element | None) -> Report:
    """The report for a record whose verification raised: MALFORMED, code XML_UNREADABLE."""
    logger.warning("record verification failed; the file is reported MALFORMED", exc_info=True)
    try:
        record = _record_info(root, "") if root is not None else None
    except Exception:
        record = None
    return Report(Verdict.MALFORMED, record, (Check(SCHEMA, FAIL, Code.XML_UNREADABLE),))


def _record_info(root: etree._Element, status: str) -> RecordInfo | None:
    """The report's record of a file that is not a valid record: its facts when they can be
    read, else None."""
    try:
        return _record_of(facts_of(root), status)
    except XmlRejected:
        return None


def _record_of(facts: RecordFacts, status: str) -> RecordInfo:
    return RecordInfo(
        record_id=facts.record_id,
        version=facts.version,
        status=status,
        school_code=facts.school_code,
        school_year=facts.school_year,
        school_name=facts.school_name,
        authority_name=facts.authority_name,
    )
