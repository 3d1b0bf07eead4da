"""The signer's identity comes from the one subject attribute that names the holder, UID, each
value read as a whole (`CCCD:`, `CMND:`, `SDDCN:` or `PID:` and 12 digits for a person,
`MST:<tax code>` for an organisation), never from a search in the whole subject. Before, any
attribute whose text contained "CCCD:<id>" (an OU, an O, a title) made the certificate the
principal's, and an "MST:<tax code>" anywhere made a personal certificate the school's seal.

The other side of the same rule: certificates as Vietnamese providers issue them must still name
their holder. A personal ID under any of the four labels names the person; an employee's
certificate ("cá nhân thuộc tổ chức") carrying the employer's `MST:` UID beside the personal one
is the person's, and never the organisation's seal; two different personal IDs name nobody."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from hocba.formats import build
from hocba.signing.certs import Holder, holder_of, personal_id_of, tax_code_of
from tests.attacks.record_kit import failed_codes
from tests.factories.records import (
    HOMEROOM_ID,
    PRINCIPAL_ID,
    SUBJECTS,
    TAX_CODE,
    TEACHER_ID,
    make_kit,
    sample_record,
    sign_all,
)

OUTSIDER_ID = "001099001234"
OTHER_TAX_CODE = "0100109106"
_KEY = ec.generate_private_key(ec.SECP256R1())


def certificate(*attributes: tuple[x509.ObjectIdentifier, str]) -> x509.Certificate:
    """A certificate whose subject is exactly `attributes` (the holder is read from the subject
    alone, so a quick self-signed one will do here)."""
    name = x509.Name([x509.NameAttribute(oid, value) for oid, value in attributes])
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(_KEY.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(_KEY, hashes.SHA256())
    )


# attributes that are not the holder's, with UTF8String (or IA5String) values
OTHER_ATTRIBUTES = [
    NameOID.ORGANIZATIONAL_UNIT_NAME, NameOID.ORGANIZATION_NAME, NameOID.COMMON_NAME,
    NameOID.TITLE, NameOID.LOCALITY_NAME, NameOID.STATE_OR_PROVINCE_NAME,
    NameOID.STREET_ADDRESS, NameOID.GIVEN_NAME, NameOID.SURNAME, NameOID.PSEUDONYM,
    NameOID.BUSINESS_CATEGORY, NameOID.POSTAL_ADDRESS, NameOID.EMAIL_ADDRESS,
    NameOID.ORGANIZATION_IDENTIFIER,
]  # fmt: skip
WORDS = st.text(alphabet="abc XYZ-_,;()=:/", max_size=12)


def claim(kind: str, value: str) -> st.SearchStrategy[str]:
    """Texts that mention `value` the way a subject attribute might."""
    prefix = "CCCD" if kind == "person" else "MST"
    return st.one_of(
        st.just(f"{prefix}:{value}"),
        st.sampled_from(
            [
                f"{prefix}: {value}",
                f"{prefix} :{value}",
                value,
                f"PID:{value}",
                f"CMND:{value}",
                f"SDDCN:{value}",
            ]
        ),
        st.builds(lambda before, after: f"{before}{prefix}:{value}{after}", WORDS, WORDS),
    )


@settings(max_examples=200, deadline=None)
@given(
    attribute=st.sampled_from(OTHER_ATTRIBUTES),
    text=claim("person", PRINCIPAL_ID),
    uid=st.sampled_from([None, f"CCCD:{OUTSIDER_ID}", f"MST:{OTHER_TAX_CODE}"]),
)
def test_a_personal_id_anywhere_but_the_uid_names_nobody(attribute, text, uid):
    attributes = [(NameOID.COUNTRY_NAME, "VN"), (attribute, text)]
    if uid is not None:
        attributes.append((NameOID.USER_ID, uid))
    assert personal_id_of(certificate(*attributes)) != PRINCIPAL_ID


@settings(max_examples=200, deadline=None)
@given(
    attribute=st.sampled_from(OTHER_ATTRIBUTES),
    text=claim("organisation", TAX_CODE),
    uid=st.sampled_from([None, f"CCCD:{PRINCIPAL_ID}", f"MST:{OTHER_TAX_CODE}"]),
)
def test_a_tax_code_anywhere_but_the_uid_names_no_school(attribute, text, uid):
    attributes = [(NameOID.COUNTRY_NAME, "VN"), (attribute, text)]
    if uid is not None:
        attributes.append((NameOID.USER_ID, uid))
    assert tax_code_of(certificate(*attributes)) != TAX_CODE


def test_a_serial_number_attribute_is_not_an_identity():
    cert = certificate((NameOID.COMMON_NAME, "Đỗ Gia Tuấn"), (NameOID.SERIAL_NUMBER, PRINCIPAL_ID))
    assert personal_id_of(cert) is None


LABELS = ["CCCD", "CMND", "SDDCN", "PID"]


@pytest.mark.parametrize(
    "uid",
    [f"CCCD:{PRINCIPAL_ID} ", f" CCCD:{PRINCIPAL_ID}", f"CCCD:{PRINCIPAL_ID}0",
     f"CCCD:{PRINCIPAL_ID[:-1]}", f"cccd:{PRINCIPAL_ID}", f"CCCD: {PRINCIPAL_ID}",
     f"CCCD:{PRINCIPAL_ID},MST:{TAX_CODE}", f"CCCD:{PRINCIPAL_ID}\n",
     "CCCD:" + PRINCIPAL_ID.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")),
     f"OU=CCCD:{PRINCIPAL_ID}", PRINCIPAL_ID, f"PID:{PRINCIPAL_ID}x", f"CMND:{PRINCIPAL_ID[:9]}",
     f"SDDCN::{PRINCIPAL_ID}", f"pid:{PRINCIPAL_ID}", f"CCCDPID:{PRINCIPAL_ID}",
     f"HC:{PRINCIPAL_ID}", f"CCCD:{PRINCIPAL_ID}/PID:{PRINCIPAL_ID}"],
)  # fmt: skip
def test_a_uid_that_is_not_exactly_one_personal_id_names_nobody(uid):
    assert holder_of(certificate((NameOID.USER_ID, uid))).personal_id is None


@pytest.mark.parametrize("label", LABELS)
def test_each_label_vietnamese_providers_use_names_the_person(label):
    holder = holder_of(certificate((NameOID.USER_ID, f"{label}:{PRINCIPAL_ID}")))
    assert holder == Holder(personal_id=PRINCIPAL_ID)


@pytest.mark.parametrize("first", LABELS)
@pytest.mark.parametrize("second", LABELS)
def test_two_different_personal_ids_name_nobody(first, second):
    cert = certificate(
        (NameOID.USER_ID, f"{first}:{PRINCIPAL_ID}"), (NameOID.USER_ID, f"{second}:{OUTSIDER_ID}")
    )
    assert holder_of(cert) == Holder()


@pytest.mark.parametrize("first", LABELS)
@pytest.mark.parametrize("second", LABELS)
def test_one_personal_id_under_two_labels_names_that_person(first, second):
    cert = certificate(
        (NameOID.USER_ID, f"{first}:{PRINCIPAL_ID}"), (NameOID.USER_ID, f"{second}:{PRINCIPAL_ID}")
    )
    assert holder_of(cert) == Holder(personal_id=PRINCIPAL_ID)


@pytest.mark.parametrize("label", LABELS)
@pytest.mark.parametrize("tax_code", [TAX_CODE, f"{TAX_CODE}-001"])
@pytest.mark.parametrize("mst_first", [True, False])
def test_an_employee_certificate_with_the_employers_tax_code_is_the_persons_never_the_seal(
    label, tax_code, mst_first
):
    values = [f"MST:{tax_code}", f"{label}:{PRINCIPAL_ID}"]
    cert = certificate(*[(NameOID.USER_ID, v) for v in (values if mst_first else values[::-1])])
    assert holder_of(cert) == Holder(personal_id=PRINCIPAL_ID)
    assert tax_code_of(cert) is None


@pytest.mark.parametrize(
    "other",
    [f"MST:{OTHER_TAX_CODE}", "x", f"CCCD:{PRINCIPAL_ID}x", f"HC:{PRINCIPAL_ID}", "",
     f"MST:{TAX_CODE} ", f"CMND: {PRINCIPAL_ID}"],
)  # fmt: skip
def test_an_organisation_uid_beside_any_other_value_names_no_organisation(other):
    cert = certificate((NameOID.USER_ID, f"MST:{TAX_CODE}"), (NameOID.USER_ID, other))
    assert holder_of(cert).tax_code is None


@pytest.mark.parametrize("tax_code", [TAX_CODE, "0100109106-001"])
def test_an_organisation_certificate_names_its_tax_code_and_no_person(tax_code):
    holder = holder_of(certificate((NameOID.USER_ID, f"MST:{tax_code}")))
    assert holder.tax_code == tax_code and holder.personal_id is None
    twice = certificate((NameOID.USER_ID, f"MST:{tax_code}"), (NameOID.USER_ID, f"MST:{tax_code}"))
    assert holder_of(twice) == Holder(tax_code=tax_code)
    person = holder_of(certificate((NameOID.USER_ID, f"CCCD:{PRINCIPAL_ID}")))
    assert person.personal_id == PRINCIPAL_ID and person.tax_code is None


IDS = [PRINCIPAL_ID, OUTSIDER_ID]
UID_VALUES = st.one_of(
    st.builds(lambda label, pid: f"{label}:{pid}", st.sampled_from(LABELS), st.sampled_from(IDS)),
    st.sampled_from([f"MST:{TAX_CODE}", f"MST:{OTHER_TAX_CODE}", f"MST:{TAX_CODE}-002"]),
    st.builds(
        lambda before, value, after: f"{before}{value}{after}",
        WORDS,
        st.sampled_from([*(f"{label}:{PRINCIPAL_ID}" for label in LABELS), f"MST:{TAX_CODE}"]),
        WORDS,
    ),
)


@settings(max_examples=300, deadline=None)
@given(values=st.lists(UID_VALUES, min_size=0, max_size=4))
def test_the_holder_is_only_ever_a_whole_uid_value_and_never_both_a_person_and_a_school(values):
    holder = holder_of(certificate(*[(NameOID.USER_ID, v) for v in values]))
    assert holder.personal_id is None or holder.tax_code is None
    whole_people = {v.split(":", 1)[1] for v in values if v.split(":", 1)[0] in LABELS
                    and v.split(":", 1)[1] in IDS}  # fmt: skip
    if holder.personal_id is not None:
        # named by a value that is exactly one label and the ID, and no other ID is named
        assert whole_people == {holder.personal_id}
    elif len(whole_people) == 1:
        pytest.fail(f"{values} names {whole_people} but the holder is {holder}")
    if holder.tax_code is not None:
        # an organisation's certificate: nothing in its UID but its tax code
        assert set(values) == {f"MST:{holder.tax_code}"}


# --- the verdict of a record signed with such a certificate (trusted CA, keys held) ---------


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    return make_kit(tmp_path_factory.mktemp("identity-pki"))


SLOT_PERSON = {"GVBM": TEACHER_ID, "GVCN": HOMEROOM_ID, "CBQL": PRINCIPAL_ID}


def verdict_with(kit, slot, signer):
    signers = {**kit.signers, slot: signer}
    content = sign_all(build(sample_record()), SUBJECTS, lambda name, _subject: signers[name])
    return kit.verifier().verify(content)


@pytest.mark.parametrize("slot", ["GVBM", "GVCN", "CBQL"])
@pytest.mark.parametrize(
    "attribute",
    [NameOID.ORGANIZATIONAL_UNIT_NAME, NameOID.ORGANIZATION_NAME, NameOID.TITLE,
     NameOID.COMMON_NAME],
)  # fmt: skip
def test_the_persons_id_in_another_attribute_does_not_make_an_outsider_the_signer(
    kit, slot, attribute
):
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(attribute, f"Người Lạ CCCD:{SLOT_PERSON[slot]}"),
            x509.NameAttribute(NameOID.USER_ID, f"CCCD:{OUTSIDER_ID}"),
        ]
    )
    report = verdict_with(kit, slot, kit.person(subject))
    assert report.verdict == "UNTRUSTED_SIGNER" and "SIGNER_MISMATCH" in failed_codes(report)


@pytest.mark.parametrize(
    "subject",
    [
        # a personal certificate of the principal whose organisation names the school
        [(NameOID.ORGANIZATION_NAME, f"Trường THCS Chu Văn An MST:{TAX_CODE}"),
         (NameOID.USER_ID, f"CCCD:{PRINCIPAL_ID}")],
        # another organisation whose unit names the school's tax code
        [(NameOID.ORGANIZATIONAL_UNIT_NAME, f"MST:{TAX_CODE}"),
         (NameOID.USER_ID, f"MST:{OTHER_TAX_CODE}")],
        # the school's tax code next to another one
        [(NameOID.USER_ID, f"MST:{TAX_CODE}"), (NameOID.USER_ID, f"MST:{OTHER_TAX_CODE}")],
        # no UID at all, the tax code in the common name
        [(NameOID.COMMON_NAME, f"MST:{TAX_CODE}")],
        # an employee's certificate: the principal's personal ID beside the school's tax code
        [(NameOID.USER_ID, f"PID:{PRINCIPAL_ID}"), (NameOID.USER_ID, f"MST:{TAX_CODE}")],
        [(NameOID.USER_ID, f"MST:{TAX_CODE}"), (NameOID.USER_ID, f"CMND:{PRINCIPAL_ID}")],
        # the school's tax code beside a value that might name a person some other way
        [(NameOID.USER_ID, f"MST:{TAX_CODE}"), (NameOID.USER_ID, f"HC:{PRINCIPAL_ID}")],
    ],
)  # fmt: skip
def test_a_tax_code_outside_a_single_uid_does_not_make_a_school_seal(kit, subject):
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "VN")]
                     + [x509.NameAttribute(oid, value) for oid, value in subject])  # fmt: skip
    report = verdict_with(kit, "KY_PHAT_HANH", kit.person(name))
    assert report.verdict == "UNTRUSTED_SIGNER" and "SIGNER_MISMATCH" in failed_codes(report)


def test_the_holders_own_certificates_still_sign(kit):
    assert kit.verifier().verify(kit.signed()).verdict == "VALID"


@pytest.mark.parametrize("slot", ["GVBM", "GVCN", "CBQL"])
@pytest.mark.parametrize(
    "uids",
    [["CMND"], ["SDDCN"], ["PID"], ["CCCD", "PID"],
     # an employee's certificate, the school's tax code beside the personal ID
     ["PID", f"MST:{TAX_CODE}"], [f"MST:{TAX_CODE}", "CCCD"]],
)  # fmt: skip
def test_a_personal_certificate_as_vietnamese_providers_issue_it_signs_for_its_holder(
    kit, slot, uids
):
    values = [u if u.startswith("MST:") else f"{u}:{SLOT_PERSON[slot]}" for u in uids]
    subject = x509.Name(
        [x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
         x509.NameAttribute(NameOID.COMMON_NAME, "Nguyễn Văn Ký")]
        + [x509.NameAttribute(NameOID.USER_ID, value) for value in values]
    )  # fmt: skip
    assert verdict_with(kit, slot, kit.person(subject)).verdict == "VALID"


@pytest.mark.parametrize("slot", ["GVBM", "GVCN", "CBQL"])
def test_a_certificate_naming_two_people_signs_for_neither(kit, slot):
    subject = x509.Name(
        [x509.NameAttribute(NameOID.USER_ID, f"CCCD:{SLOT_PERSON[slot]}"),
         x509.NameAttribute(NameOID.USER_ID, f"PID:{OUTSIDER_ID}")]
    )  # fmt: skip
    report = verdict_with(kit, slot, kit.person(subject))
    assert report.verdict == "UNTRUSTED_SIGNER" and "SIGNER_MISMATCH" in failed_codes(report)


# --- signing through the service (the development PKI of the demo, its trusted CA) ---------


def _demo_signer(subject: list[tuple[x509.ObjectIdentifier, str]]):
    from hocba.signing import config
    from hocba.signing.dev.pki import DevPki, new_key
    from hocba.signing.signers import Pkcs12Signer

    pki = DevPki.load(config.pki_dir())
    key = new_key()
    name = x509.Name([x509.NameAttribute(oid, value) for oid, value in subject])
    return Pkcs12Signer(key, pki._issue(name, key))


@pytest.mark.django_db
def test_the_service_signs_nothing_with_a_certificate_naming_the_signer_outside_its_uid(demo):
    from hocba.organizations.models import Role, RoleAssignment
    from hocba.records.models import Record
    from hocba.records.services import correct_record, read_xml
    from hocba.signing.services import SigningRefused, sign_records
    from tests.factories.database import user

    record = Record.objects.filter(class_group__name="7A", school__code="25000201").first()
    version = correct_record(user("ht.chuvanan"), record, "Điều chỉnh để thử ký")
    before = read_xml(version)
    homeroom = RoleAssignment.objects.get(
        role=Role.HOMEROOM_TEACHER, class_group=record.class_group
    ).staff
    keeper = RoleAssignment.objects.get(role=Role.SEAL_KEEPER, school=record.school).staff
    attempts = [
        # the homeroom teacher's ID in an OU, the UID someone else's
        (homeroom, "GVCN", "CERT_NOT_YOURS",
         [(NameOID.ORGANIZATIONAL_UNIT_NAME, f"CCCD:{homeroom.personal_id}"),
          (NameOID.USER_ID, f"CCCD:{OUTSIDER_ID}")]),
        # the seal keeper's own personal certificate, the school's tax code in its O
        (keeper, "KY_PHAT_HANH", "NOT_ORGANISATION",
         [(NameOID.ORGANIZATION_NAME, f"{record.school.name} MST:{record.school.tax_code}"),
          (NameOID.USER_ID, f"CCCD:{keeper.personal_id}")]),
        # the seal keeper's employee certificate: the school's tax code in a UID of its own
        (keeper, "KY_PHAT_HANH", "NOT_ORGANISATION",
         [(NameOID.USER_ID, f"PID:{keeper.personal_id}"),
          (NameOID.USER_ID, f"MST:{record.school.tax_code}")]),
    ]  # fmt: skip
    for person, slot, code, subject in attempts:
        signer = _demo_signer([(NameOID.COUNTRY_NAME, "VN"), *subject])
        with pytest.raises(SigningRefused) as refused:
            sign_records(person.user, [version], slot, signer)
        assert refused.value.code == code
    version.refresh_from_db()
    assert read_xml(version) == before
