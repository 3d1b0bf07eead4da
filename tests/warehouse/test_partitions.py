"""On PostgreSQL the stored records are partitioned by school year."""

from __future__ import annotations

import pytest
from django.db import connection

from hocba.warehouse.models import StoredRecord

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only"),
]


def test_each_school_years_records_land_in_that_years_partition(demo):
    years = set(StoredRecord.objects.values_list("school_year", flat=True))
    assert years
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text, school_year, count(*) "
            "FROM warehouse_storedrecord GROUP BY 1, 2"
        )
        rows = cursor.fetchall()
    assert {year for _, year, _ in rows} == years
    for table, year, _ in rows:
        assert table == f"warehouse_storedrecord_y{year.replace('-', '_')}"
    # the unique rule still holds across the partitioned table
    stored = StoredRecord.objects.first()
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        StoredRecord.objects.create(
            **{
                f.attname: getattr(stored, f.attname)
                for f in StoredRecord._meta.concrete_fields
                if f.attname not in ("id", "received_at")
            }
        )
