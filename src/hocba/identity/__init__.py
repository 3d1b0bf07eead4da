"""Identity checks for people in the education sector (pure: no Django).

The data-quality review (rà soát, chuẩn hóa dữ liệu) that must be clean before a school issues a
học bạ: personal identification numbers against date of birth and sex, mandatory fields, names,
codes from the national catalogues, duplicates across schools.
"""

from hocba.identity.personal_id import check_personal_id, make_personal_id
from hocba.identity.problems import Problem, ProblemCode
from hocba.identity.review import StudentIdentity, find_duplicate_ids, review_student

__all__ = [
    "Problem",
    "ProblemCode",
    "StudentIdentity",
    "check_personal_id",
    "find_duplicate_ids",
    "make_personal_id",
    "review_student",
]
