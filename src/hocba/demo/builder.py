"""Builds the demo province: organisations, staff and their roles, students with school history,
and a handful of deliberate identity problems for the data-quality review.

The province is Phú Thọ after 1 July 2025: two schools are managed by the People's Committee of
Phường Thanh Miếu, two by the Sở; the Phòng GD&ĐT Việt Trì, which managed the first two until 30
June 2025, stays as history, so that the 2024-2025 records name it as their issuer's authority."""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction

from hocba.demo.grades import (
    build_all_records,
    build_grades,
    build_pki,
    seal_all_documents,
    sign_all_records,
    submit_to_warehouse,
)
from hocba.demo.names import OCCUPATIONS, PROVINCE, address, person_name
from hocba.identity import ProblemCode, make_personal_id
from hocba.identity.codes import SEX_FEMALE, SEX_MALE
from hocba.organizations.geography import load_communes
from hocba.organizations.models import (
    DISTRICT_LEVEL_ENDED,
    ClassGroup,
    Commune,
    CommuneKind,
    DistrictOffice,
    ProvinceOffice,
    Role,
    RoleAssignment,
    School,
    SchoolPlacement,
    SchoolSite,
    SchoolYear,
    Staff,
)
from hocba.rules.catalogue import Kind, Level, subjects_for
from hocba.students.models import Enrolment, JoinReason, LeaveReason, Student

CURRENT_YEAR = ("2024-2025", dt.date(2024, 9, 5), dt.date(2025, 5, 31))
PREVIOUS_YEAR = ("2023-2024", dt.date(2023, 9, 5), dt.date(2024, 5, 31))
CLASS_SIZE = 35
COMBINED_CLASS_SIZE = 8
BIRTH_PROVINCE = "025"  # Phú Thọ in the personal ID number
COMMUNES_CSV = Path(__file__).resolve().parents[1] / "organizations" / "data" / "communes-25.csv"
DISTRICT = ("227", "Phòng Giáo dục và Đào tạo Việt Trì", "Thành phố Việt Trì")
MANAGING_WARD = "07909"  # Phường Thanh Miếu since 1 July 2025


@dataclass(frozen=True)
class SchoolSpec:
    key: str
    code: str
    name: str
    level: Level
    grades: range
    in_district: bool
    """Managed by the Phòng until 30 June 2025 and by the ward since; else by the Sở."""
    commune: tuple[str, str]
    """(the ward it stood in until 30 June 2025, the code of the ward it stands in since)."""
    street: str
    tax_code: str
    head_title: str
    combined: tuple[str, str, tuple[int, ...]] | None = None
    """A satellite site with a combined class: (site, class name, grades)."""


SCHOOLS = (
    SchoolSpec("kimdong", "25000101", "Trường Tiểu học Kim Đồng", Level.TH, range(1, 6), True,
               ("Phường Thanh Miếu", "07909"), "Số 12 đường Kim Đồng", "2600100101",
               "Hiệu trưởng", ("Điểm trường Thanh Đình", "1+2 TĐ", (1, 2))),
    SchoolSpec("chuvanan", "25000201", "Trường THCS Chu Văn An", Level.THCS, range(6, 10), True,
               ("Phường Thanh Miếu", "07909"), "Số 45 đường Trần Phú", "2600100202",
               "Hiệu trưởng"),
    SchoolSpec("hungvuong", "25000301", "Trường THPT Hùng Vương", Level.THPT, range(10, 13),
               False, ("Phường Nông Trang", "07894"), "Số 1 đường Hùng Vương", "2600100303",
               "Hiệu trưởng"),
    SchoolSpec("gdtx", "25000401", "Trung tâm GDNN-GDTX Việt Trì", Level.GDTX, range(10, 13),
               False, ("Phường Vân Phú", "07918"), "Số 8 đường Nguyễn Tất Thành", "2600100404",
               "Giám đốc"),
)  # fmt: skip

THPT_ELECTIVE_COMBINATIONS = (
    ("VAT_LI", "HOA_HOC", "SINH_HOC", "TIN_HOC"),
    ("DIA_LI", "GDKT_PL", "CONG_NGHE", "TIN_HOC"),
)
GDTX_THPT_SUBJECTS = ("NGU_VAN", "TOAN", "LICH_SU", "DIA_LI", "GDKT_PL", "VAT_LI", "TIN_HOC")
PRIMARY_SPECIALIST_SUBJECTS = ("NGOAI_NGU_1", "TIN_HOC_CONG_NGHE", "GDTC", "NGHE_THUAT")


@dataclass
class Demo:
    """What the steps share and what the demo reports."""

    rng: random.Random
    seed: int
    students_per_school: int
    password: str
    counts: dict[str, int] = field(default_factory=dict)
    logins: list[tuple[str, str, str]] = field(default_factory=list)
    """(username, role, where) of the accounts worth trying first."""
    planted: list[tuple[str, ProblemCode]] = field(default_factory=list)
    """(student code, problem) planted for the data-quality review."""
    province: ProvinceOffice | None = None
    schools: dict[str, School] = field(default_factory=dict)
    years: dict[str, SchoolYear] = field(default_factory=dict)
    students_by_school: dict[str, list[Student]] = field(default_factory=dict)
    combined_students: list[Student] = field(default_factory=list)
    """The pupils of combined classes (not in `students_by_school`)."""
    _used_ids: set[str] = field(default_factory=set)
    _password_hash: str | None = None

    def personal_id(
        self,
        dob: dt.date,
        sex: str,
        province: str = BIRTH_PROVINCE,
        rng: random.Random | None = None,
    ) -> str:
        rng = rng or self.rng
        while True:
            value = make_personal_id(province, dob, sex, rng.randrange(1_000_000))
            if value not in self._used_ids:
                self._used_ids.add(value)
                return value

    def add_count(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n

    def user(self, username: str, staff: Staff) -> None:
        # Hashing is deliberately slow; every demo account shares one password, so hash once.
        if self._password_hash is None:
            self._password_hash = make_password(self.password)
        user = get_user_model().objects.create(
            username=username, is_staff=True, password=self._password_hash
        )
        staff.user = user
        staff.save(update_fields=["user"])
        self.add_count("user accounts")

    def family_user(self, username: str) -> object:
        """A student's or parent's account (not staff: no admin, no roles)."""
        if self._password_hash is None:
            self._password_hash = make_password(self.password)
        self.add_count("user accounts")
        return get_user_model().objects.create(username=username, password=self._password_hash)

    def staff(
        self,
        username: str,
        position: str,
        school: School | None,
        born: tuple[int, int] = (1968, 1996),
        rng: random.Random | None = None,
    ) -> Staff:
        rng = rng or self.rng
        female = rng.random() < 0.7
        dob = dt.date(rng.randint(*born), rng.randint(1, 12), rng.randint(1, 28))
        sex = SEX_FEMALE if female else SEX_MALE
        person = Staff.objects.create(
            personal_id=self.personal_id(dob, sex, rng=rng),
            full_name=person_name(rng, female),
            position=position,
            school=school,
        )
        self.add_count("staff")
        self.user(username, person)
        return person


def _assign(person: Staff, role: Role, **scope: object) -> RoleAssignment:
    assignment = RoleAssignment(staff=person, role=role, **scope)
    assignment.full_clean()
    assignment.save()
    return assignment


def build_organisations(demo: Demo) -> None:
    demo.province = ProvinceOffice.objects.create(
        code="25", name="Sở Giáo dục và Đào tạo Phú Thọ", province_code="25",
        province_name=PROVINCE,
    )  # fmt: skip
    district = DistrictOffice.objects.create(
        province_office=demo.province, code=DISTRICT[0], name=DISTRICT[1],
        district_name=DISTRICT[2], valid_to=DISTRICT_LEVEL_ENDED,
    )  # fmt: skip
    loaded = load_communes(COMMUNES_CSV.read_text(encoding="utf-8"))
    for name, start, end in (PREVIOUS_YEAR, CURRENT_YEAR):
        demo.years[name] = SchoolYear.objects.create(name=name, start_date=start, end_date=end)
    former: dict[str, Commune] = {}
    for spec in SCHOOLS:
        # the ward before the merger: its code of the former list is not confirmed, so none
        old_name, new_code = spec.commune
        if old_name not in former:
            former[old_name] = Commune.objects.create(
                name=old_name, kind=CommuneKind.PHUONG, province_code="25",
                district_name=DISTRICT[2], valid_to=DISTRICT_LEVEL_ENDED,
            )  # fmt: skip
        ward = Commune.objects.get(code=new_code, valid_to=None)
        school = School(
            code=spec.code,
            name=spec.name,
            province_office=demo.province,
            district_office=district if spec.in_district else None,
            managing_commune=ward if spec.in_district else None,
            commune=ward,
            commune_name=ward.name,
            commune_code=ward.code,
            levels=[spec.level.value],
            street_address=spec.street,
            province_code="25",
            province_name=PROVINCE,
            tax_code=spec.tax_code,
        )
        school.full_clean()
        school.save()
        SchoolPlacement.objects.create(
            school=school, valid_until=DISTRICT_LEVEL_ENDED, name=spec.name,
            commune=former[old_name], district_office=district if spec.in_district else None,
        )  # fmt: skip
        demo.schools[spec.key] = school
    demo.counts.update(
        provinces=1, districts=1, communes=loaded.created + len(former), schools=len(SCHOOLS)
    )


def _classes_per_grade(demo: Demo, spec: SchoolSpec) -> int:
    return max(1, math.ceil(demo.students_per_school / (len(spec.grades) * CLASS_SIZE)))


def _class_name(spec: SchoolSpec, grade: int, index: int) -> str:
    if spec.level is Level.GDTX:
        return f"{grade}G{index + 1}"
    return f"{grade}{'ABCDEFGHIKLMNOPQRSTUVXY'[index]}"


def _class_subjects(spec: SchoolSpec, grade: int, index: int) -> list[str]:
    if spec.level is Level.GDTX:
        return list(GDTX_THPT_SUBJECTS)
    subjects = [s for s in subjects_for(spec.level, grade) if s.kind is Kind.COMPULSORY]
    codes = [s.code for s in subjects]
    if spec.level is Level.THPT:
        combination = THPT_ELECTIVE_COMBINATIONS[index % len(THPT_ELECTIVE_COMBINATIONS)]
        codes += list(combination)
    return codes


def build_staff_and_classes(demo: Demo) -> None:
    assert demo.province is not None
    current = demo.years[CURRENT_YEAR[0]]
    previous = demo.years[PREVIOUS_YEAR[0]]
    ward = Commune.objects.get(code=MANAGING_WARD, valid_to=None)

    officer = demo.staff("so.phutho", "Chuyên viên", None)
    _assign(officer, Role.PROVINCE_OFFICER, province_office=demo.province)
    demo.logins.append(("so.phutho", "Chuyên viên Sở", demo.province.name))
    officer = demo.staff("xa.thanhmieu", "Công chức Văn hóa - Xã hội", None)
    _assign(officer, Role.COMMUNE_OFFICER, commune=ward)
    demo.logins.append(("xa.thanhmieu", "Cán bộ UBND xã/phường", ward.committee_name))
    officer = demo.staff("bo.gddt", "Chuyên viên", None)
    _assign(officer, Role.MINISTRY_OFFICER)
    demo.logins.append(("bo.gddt", "Chuyên viên Bộ", "Toàn quốc"))
    admin = demo.staff("quantri", "Quản trị hệ thống", None)
    _assign(admin, Role.SYSTEM_ADMIN)
    assert admin.user is not None
    admin.user.is_superuser = True
    admin.user.save(update_fields=["is_superuser"])
    demo.logins.append(("quantri", "Quản trị hệ thống", "—"))

    combined: list[tuple[SchoolSpec, School, dict[tuple[str, int], Staff]]] = []
    for spec in SCHOOLS:
        school = demo.schools[spec.key]
        principal = demo.staff(f"ht.{spec.key}", spec.head_title, school, born=(1965, 1980))
        _assign(principal, Role.PRINCIPAL, school=school)
        vice = demo.staff(f"pht.{spec.key}", f"Phó {spec.head_title.lower()}", school)
        _assign(vice, Role.VICE_PRINCIPAL, school=school)
        keeper = demo.staff(f"vt.{spec.key}", "Văn thư", school)
        _assign(keeper, Role.SEAL_KEEPER, school=school)
        demo.logins += [
            (f"ht.{spec.key}", spec.head_title, school.name),
            (f"pht.{spec.key}", f"Phó {spec.head_title.lower()}", school.name),
            (f"vt.{spec.key}", "Văn thư (con dấu số)", school.name),
        ]
        per_grade = _classes_per_grade(demo, spec)
        teachers: dict[tuple[str, int], Staff] = {}
        first_class = True
        for grade in spec.grades:
            for index in range(per_grade):
                name = _class_name(spec, grade, index)
                class_group = ClassGroup.objects.create(
                    school=school, school_year=current, level=spec.level, grade=grade, name=name
                )
                demo.add_count("classes")
                if grade != spec.grades[0]:
                    ClassGroup.objects.create(
                        school=school, school_year=previous, level=spec.level, grade=grade - 1,
                        name=_class_name(spec, grade - 1, index),
                    )  # fmt: skip
                    demo.add_count("classes")
                username = f"gvcn.{spec.key}.{name.lower()}"
                homeroom = demo.staff(username, "Giáo viên", school)
                _assign(homeroom, Role.HOMEROOM_TEACHER, class_group=class_group)
                for code in _class_subjects(spec, grade, index):
                    if spec.level is Level.TH and code not in PRIMARY_SPECIALIST_SUBJECTS:
                        teacher = homeroom
                    else:
                        key = (code, grade if spec.level is not Level.TH else 0)
                        if key not in teachers:
                            suffix = f".k{grade}" if spec.level is not Level.TH else ""
                            teachers[key] = demo.staff(
                                f"gv.{spec.key}.{code.lower().replace('_', '')}{suffix}",
                                "Giáo viên",
                                school,
                            )
                        teacher = teachers[key]
                    _assign(
                        teacher, Role.SUBJECT_TEACHER, class_group=class_group, subject_code=code
                    )
                if first_class:
                    demo.logins.append((username, "Giáo viên chủ nhiệm", f"{name}, {school.name}"))
                    first_class = False
        if spec.combined is not None:
            combined.append((spec, school, teachers))
    for spec, school, teachers in combined:  # last, so that the rest is the same without them
        _combined_class(demo, spec, school, current, teachers)


def _combined_class(
    demo: Demo,
    spec: SchoolSpec,
    school: School,
    year: SchoolYear,
    teachers: dict[tuple[str, int], Staff],
) -> None:
    """A satellite site with one combined class (lớp ghép), its own homeroom teacher teaching
    the core subjects and the school's specialists the others."""
    assert spec.combined is not None
    site_name, class_name, grades = spec.combined
    site = SchoolSite.objects.create(
        school=school, name=site_name, street_address=f"{site_name}, {spec.commune[0]}"
    )
    class_group = ClassGroup(
        school=school, school_year=year, level=spec.level, grade=min(grades), name=class_name,
        combined_grades=list(grades), site=site,
    )  # fmt: skip
    class_group.full_clean()
    class_group.save()
    demo.add_count("classes")
    demo.add_count("satellite sites")
    rng = random.Random(f"{demo.seed}-combined-staff")
    homeroom = demo.staff(f"gvcn.{spec.key}.ghep", "Giáo viên", school, rng=rng)
    _assign(homeroom, Role.HOMEROOM_TEACHER, class_group=class_group)
    codes = dict.fromkeys(c for g in grades for c in _class_subjects(spec, g, 0))
    for code in codes:
        teacher = homeroom
        if code in PRIMARY_SPECIALIST_SUBJECTS:
            teacher = teachers.get((code, 0)) or homeroom
        _assign(teacher, Role.SUBJECT_TEACHER, class_group=class_group, subject_code=code)
    demo.logins.append(
        (f"gvcn.{spec.key}.ghep", "Giáo viên chủ nhiệm lớp ghép", f"{class_name}, {school.name}")
    )


def build_students(demo: Demo) -> None:
    current = demo.years[CURRENT_YEAR[0]]
    previous = demo.years[PREVIOUS_YEAR[0]]
    serial = 0
    later: list[tuple[int, SchoolSpec, ClassGroup]] = []
    for school_index, spec in enumerate(SCHOOLS, start=1):
        school = demo.schools[spec.key]
        every_class = ClassGroup.objects.filter(school=school, school_year=current)
        classes = [c for c in every_class.order_by("grade", "name") if not c.is_combined]
        later += [(school_index, spec, c) for c in every_class if c.is_combined]
        previous_classes = {
            c.name: c for c in ClassGroup.objects.filter(school=school, school_year=previous)
        }
        students: list[Student] = []
        for i in range(demo.students_per_school):
            class_group = classes[i % len(classes)]
            serial += 1
            previous_class = previous_classes.get(
                _class_name(
                    spec,
                    class_group.grade - 1,
                    classes.index(class_group) % _classes_per_grade(demo, spec),
                )
            )
            students.append(
                _new_student(
                    demo, demo.rng, spec, f"25{school_index:02d}{serial:06d}", serial,
                    class_group, class_group.grade, previous_class,
                )
            )  # fmt: skip
        demo.students_by_school[spec.key] = students
        demo.add_count("students", len(students))
    # The pupils of combined classes come last, from a generator of their own, so that the rest
    # of the demo is the same with or without them.
    rng = random.Random(f"{demo.seed}-combined")
    for school_index, spec, class_group in later:
        previous_classes = {
            c.name: c
            for c in ClassGroup.objects.filter(school=class_group.school, school_year=previous)
        }
        grades = class_group.grades
        for i in range(COMBINED_CLASS_SIZE):
            grade = grades[i % len(grades)]
            serial += 1
            student = _new_student(
                demo, rng, spec, f"25{school_index:02d}{serial:06d}", serial, class_group, grade,
                previous_classes.get(_class_name(spec, grade - 1, 0)),
            )  # fmt: skip
            demo.combined_students.append(student)
        demo.add_count("students", COMBINED_CLASS_SIZE)
    demo.add_count("enrolments", Enrolment.objects.count())


def _new_student(
    demo: Demo,
    rng: random.Random,
    spec: SchoolSpec,
    code: str,
    serial: int,
    class_group: ClassGroup,
    grade: int,
    previous_class: ClassGroup | None,
) -> Student:
    """A student of `grade` in `class_group`, with last year's class if there was one."""
    female = rng.random() < 0.5
    sex = SEX_FEMALE if female else SEX_MALE
    if spec.level is Level.GDTX:
        birth_year = 2024 - 15 - (grade - 10) - rng.choice((0, 0, 1, 2, 4))
    else:
        birth_year = 2024 - 5 - grade - (1 if rng.random() < 0.03 else 0)
    dob = dt.date(birth_year, rng.randint(1, 12), rng.randint(1, 28))
    home, home_code = address(rng)
    birthplace = rng.choice(
        ("Bệnh viện Đa khoa tỉnh Phú Thọ", "Trạm y tế xã Hy Cương", "Bệnh viện Sản Nhi Phú Thọ")
    )
    father = person_name(rng, female=False)
    mother = person_name(rng, female=True)
    student = Student.objects.create(
        personal_id=demo.personal_id(dob, sex, rng=rng),
        student_code=code,
        register_no=f"{serial:04d}/{spec.level.value}",
        full_name=f"{father.split()[0]} {person_name(rng, female).split(' ', 1)[1]}",
        date_of_birth=dob,
        sex=sex,
        ethnicity=rng.choices(("01", "06", "02", "09"), weights=(88, 8, 2, 2))[0],
        nationality="VN",
        birthplace=f"{birthplace}, {PROVINCE}",
        hometown=f"{rng.choice(('Xã Hy Cương', 'Xã Phù Ninh', 'Xã Lâm Thao'))}, {PROVINCE}",
        hometown_province_code="25",
        current_address=home,
        current_commune_code=home_code,
        current_province_code="25",
        father_name=father,
        father_occupation=rng.choice(OCCUPATIONS),
        mother_name=mother,
        mother_occupation=rng.choice(OCCUPATIONS),
        policy_category=rng.choices(("", "Con thương binh", "Hộ nghèo"), (95, 2, 3))[0],
    )
    own_grade = grade if class_group.is_combined else None
    if previous_class is not None:
        first_grade = grade - 1 == spec.grades[0]
        Enrolment.objects.create(
            student=student, class_group=previous_class, date_joined=PREVIOUS_YEAR[1],
            join_reason=JoinReason.NEW if first_grade else JoinReason.PROMOTED,
            date_left=PREVIOUS_YEAR[2], leave_reason=LeaveReason.YEAR_END,
        )  # fmt: skip
        join = JoinReason.PROMOTED
    else:
        join = JoinReason.NEW
    Enrolment.objects.create(
        student=student, class_group=class_group, date_joined=CURRENT_YEAR[1],
        join_reason=join, grade=own_grade,
    )  # fmt: skip
    return student


def plant_identity_problems(demo: Demo) -> None:
    """A few realistic mistakes, each producing exactly one problem in the review."""
    by_school = demo.students_by_school

    def plant(key: str, index: int, code: ProblemCode, change: Callable[[Student], None]) -> None:
        students = by_school[key]
        if index < len(students):
            student = students[index]
            change(student)
            student.save()
            demo.planted.append((student.student_code, code))

    def flip_sex_digit(s: Student) -> None:
        digit = int(s.personal_id[3])
        s.personal_id = f"{s.personal_id[:3]}{digit ^ 1}{s.personal_id[4:]}"

    def shift_birth_year(s: Student) -> None:
        yy = (int(s.personal_id[4:6]) + 1) % 100
        s.personal_id = f"{s.personal_id[:4]}{yy:02d}{s.personal_id[6:]}"

    def unknown_province(s: Student) -> None:
        s.personal_id = f"099{s.personal_id[3:]}"

    def lowercase_name(s: Student) -> None:
        s.full_name = s.full_name.lower().replace(" ", "  ", 1)

    def clear(field_name: str) -> Callable[[Student], None]:
        return lambda s: setattr(s, field_name, "")

    def drop_digit(s: Student) -> None:
        s.personal_id = s.personal_id[:-1]

    plant("kimdong", 0, ProblemCode.NAME_NOT_NORMALIZED, lowercase_name)
    plant("kimdong", 1, ProblemCode.PERSONAL_ID_MISSING, clear("personal_id"))
    plant("chuvanan", 0, ProblemCode.PERSONAL_ID_SEX, flip_sex_digit)
    plant("chuvanan", 1, ProblemCode.PERSONAL_ID_BIRTH_YEAR, shift_birth_year)
    plant("chuvanan", 2, ProblemCode.FIELD_MISSING, clear("hometown"))
    plant("hungvuong", 0, ProblemCode.PERSONAL_ID_PROVINCE, unknown_province)
    plant("gdtx", 1, ProblemCode.PERSONAL_ID_FORMAT, drop_digit)
    if len(by_school["hungvuong"]) > 1 and by_school["gdtx"]:
        original, copy = by_school["hungvuong"][1], by_school["gdtx"][0]
        copy.personal_id = original.personal_id
        copy.date_of_birth = original.date_of_birth
        copy.sex = original.sex
        copy.save()
        demo.planted += [
            (original.student_code, ProblemCode.PERSONAL_ID_DUPLICATE),
            (copy.student_code, ProblemCode.PERSONAL_ID_DUPLICATE),
        ]
    demo.counts["planted identity problems"] = len(demo.planted)


def build_family_accounts(demo: Demo) -> None:
    """For the first student of each school with an issued record: the student's own account
    (hs.<student code>) and a parent's (ph.<student code>)."""
    from hocba.family.models import StudentAccess
    from hocba.records.models import Record, State

    for school in demo.schools.values():
        record = (
            Record.objects.filter(school=school, versions__state=State.ISSUED)
            .select_related("student")
            .order_by("student__student_code")
            .first()
        )
        if record is None:
            continue
        code = record.student.student_code.lower()
        for prefix, relation, label in (
            ("hs", StudentAccess.Relation.SELF, "Học sinh"),
            ("ph", StudentAccess.Relation.PARENT, "Cha mẹ học sinh"),
        ):
            user = demo.family_user(f"{prefix}.{code}")
            StudentAccess.objects.create(user=user, student=record.student, relation=relation)
            demo.logins.append(
                (f"{prefix}.{code}", label, f"{record.student.full_name}, {school.name}")
            )


STEPS: list[tuple[str, Callable[[Demo], None]]] = [
    ("organisations", build_organisations),
    ("staff and classes", build_staff_and_classes),
    ("students", build_students),
    ("identity problems", plant_identity_problems),
    ("grade book", build_grades),
    ("development PKI", build_pki),
    ("records", build_all_records),
    ("signatures", sign_all_records),
    ("PDF views", seal_all_documents),
    ("warehouse", submit_to_warehouse),
    ("student accounts", build_family_accounts),
]


def build_demo(
    students_per_school: int = 40,
    seed: int = 2025,
    password: str = "hocba-demo",  # noqa: S107 - the published demo password
    progress: Callable[[str], None] | None = None,
) -> Demo:
    """Build the demo province in the current database (expected empty)."""
    if students_per_school < 1:
        raise ValueError("students_per_school must be at least 1")
    demo = Demo(random.Random(seed), seed, students_per_school, password)
    with transaction.atomic():
        for name, step in STEPS:
            if progress:
                progress(name)
            step(demo)
    return demo
