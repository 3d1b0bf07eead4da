"""A school's own figures: students expected, records created and issued. Each package a school
sends reports them (exchange), and the statistics of a school instance show them
(warehouse.stats)."""

from __future__ import annotations

from django.db.models import Q

from hocba.organizations.models import School
from hocba.records.models import Record, State
from hocba.students.models import Enrolment


def school_figures(school: School, school_year: str | None = None) -> tuple[int, int, int]:
    """A school's own figures (all years, or one): students enrolled and not left, records
    created, records issued (at least one version issued, whatever happened to it since)."""
    year = Q(class_group__school_year__name=school_year) if school_year else Q()
    records = Record.objects.filter(year, school=school)
    expected = (
        Enrolment.objects.filter(year, class_group__school=school, date_left__isnull=True)
        .values("student")
        .distinct()
        .count()
    )
    issued = (
        records.filter(versions__state__in=(State.ISSUED, State.SUPERSEDED, State.REVOKED))
        .distinct()
        .count()
    )
    return expected, records.count(), issued
