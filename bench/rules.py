"""Evaluate a 2,000-student THCS school year from raw assessments with the TT22 engine.

Prints students per second, and the ratio to a baseline that only sums the same Decimal scores
(the least any evaluation must do). One process, one core. `--quick` for a smaller school.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import report
from hocba.rules.catalogue import Level, Mode, regular_assessment_count, subjects_for
from hocba.rules.labels import Circular, Rating
from hocba.rules.secondary import (
    CommentAssessments,
    ScoreAssessments,
    StudentYear,
    comment_semester,
    conduct_year,
    evaluate_year,
    semester_average,
    subject_year,
)

SCORES = [Decimal(n) / 10 for n in range(0, 101)]
RATINGS = (Rating.T, Rating.K, Rating.D, Rating.CD)


def school(students: int, seed: int = 1) -> list[tuple[int, list, tuple[Rating, Rating], int]]:
    """Raw grade-book data: per student, per subject, two semesters of assessments."""
    rng = random.Random(seed)
    data = []
    for i in range(students):
        grade = 6 + i % 4
        ability = rng.randint(35, 95)
        subjects = []
        for subject in subjects_for(Level.THCS, grade):
            if subject.kind != "compulsory":
                continue
            semesters = []
            for _ in range(2):
                if subject.mode is Mode.COMMENT:
                    semesters.append(
                        CommentAssessments(
                            (rng.random() < 0.97, rng.random() < 0.97),
                            rng.random() < 0.97,
                            rng.random() < 0.97,
                        )
                    )
                else:
                    n = regular_assessment_count(subject.periods_for(grade))

                    drawn = [
                        SCORES[max(0, min(100, ability + rng.randint(-25, 25)))]
                        for _ in range(n + 2)
                    ]
                    semesters.append(ScoreAssessments(tuple(drawn[:n]), drawn[n], drawn[n + 1]))
            subjects.append((subject.code, subject.mode is Mode.SCORE, semesters))
        conduct = (rng.choice(RATINGS[:3]), rng.choice(RATINGS[:3]))
        data.append((grade, subjects, conduct, rng.randint(0, 50)))
    return data


def evaluate_school(data: list) -> int:
    promoted = 0
    for grade, subjects, conduct, absences in data:
        years = []
        for code, scored, (s1, s2) in subjects:
            if scored:
                years.append(subject_year(code, True, semester_average(s1), semester_average(s2),
                                          None))  # fmt: skip
            else:
                years.append(subject_year(code, False, comment_semester(s1, 2),
                                          comment_semester(s2, 2), None))  # fmt: skip
        result = evaluate_year(
            StudentYear(
                Circular.TT22,
                grade,
                tuple(years),
                conduct[0],
                conduct[1],
                conduct_year(*conduct),
                absences,
            )
        )
        promoted += result.outcome == "PROMOTED"
    return promoted


def sum_scores(data: list) -> Decimal:
    total = Decimal(0)
    for _, subjects, _, _ in data:
        for _, scored, semesters in subjects:
            if scored:
                for s in semesters:
                    total += sum(s.tx, Decimal(0)) + s.gk + s.ck
    return total


def best_of(repeats: int, fn, *args) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--students", type=int, default=2000)
    args = parser.parse_args()
    students = 500 if args.quick else args.students
    data = school(students)
    repeats = 3 if args.quick else 5
    engine = best_of(repeats, evaluate_school, data)
    baseline = best_of(repeats, sum_scores, data)
    report(
        "rules",
        students,
        engine,
        "summing the same Decimal scores (students/s), same data, same run",
        students / baseline,
        regulation="TT22",
        level="THCS",
        scored_subjects=8,
        comment_subjects=4,
    )


if __name__ == "__main__":
    main()
