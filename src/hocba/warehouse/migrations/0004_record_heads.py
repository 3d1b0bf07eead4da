"""The version rule's lock and its guarantee in the database.

- `warehouse_recordhead`: one row per record id, written before the record's first version is
  stored and locked while a package's versions are decided (see `RecordHead`). It is a plain
  table keyed by the record id alone: the stored versions are partitioned by school year, so
  neither a row lock nor a unique rule on them can cover a record id before its first version
  exists, nor all school years at once.
- `stored_one_current`: at most one version in force per record (record id and school year: a
  unique index on a partitioned table must hold the partition key, and the version rule keeps
  one school year per record id).

Versions left in force by processing before this lock existed (two workers deciding about one
record at the same moment) are closed first, as the rule would have closed them had the versions
come in order: a CANCEL revokes what is in force below it, any other version supersedes it. On a
large warehouse the unique index takes a while to build and holds writes to the table meanwhile:
apply it when no packages are being processed."""

import django.db.models
from django.db import migrations, models
from django.db.models import Exists, OuterRef


def close_extra_current_versions(apps, schema_editor):  # type: ignore[no-untyped-def]
    StoredRecord = apps.get_model("warehouse", "StoredRecord")
    later = StoredRecord.objects.filter(
        record_id=OuterRef("record_id"), version__gt=OuterRef("version")
    )
    broken = set(
        StoredRecord.objects.filter(state="CURRENT")
        .filter(Exists(later))
        .values_list("record_id", flat=True)
    )
    for record_id in broken:
        rows = list(StoredRecord.objects.filter(record_id=record_id).order_by("version"))
        before = {row.pk: row.state for row in rows}
        for index, row in enumerate(rows):
            closing = "REVOKED" if row.event == "CANCEL" else "SUPERSEDED"
            for previous in rows[:index]:
                if previous.state == "CURRENT":
                    previous.state = closing
            row.state = "REVOKED" if row.event == "CANCEL" else "CURRENT"
        for row in rows:
            if row.state != before[row.pk]:
                StoredRecord.objects.filter(pk=row.pk).update(state=row.state)


class Migration(migrations.Migration):
    dependencies = [("warehouse", "0003_account_province_office_code")]

    operations = [
        migrations.CreateModel(
            name="RecordHead",
            fields=[
                (
                    "record_id",
                    models.UUIDField(primary_key=True, serialize=False, verbose_name="record id"),
                ),
            ],
            options={"verbose_name": "record head", "verbose_name_plural": "record heads"},
        ),
        migrations.RunPython(close_extra_current_versions, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="storedrecord",
            constraint=models.UniqueConstraint(
                condition=django.db.models.Q(("state", "CURRENT")),
                fields=("record_id", "school_year"),
                name="stored_one_current",
            ),
        ),
    ]
