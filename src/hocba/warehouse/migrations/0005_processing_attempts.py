"""Processing that fails is tried again later, and a valid record always fits.

- `attempts`, `next_attempt_at`, `last_error` on received packages: a package whose processing
  fails waits before the next attempt (workers take the packages that are due), and after the
  configured number of attempts it is answered PACKAGE_PROCESSING_FAILED. The new columns
  have database defaults, so processes still running the code before this migration keep
  inserting packages.
- `district_name` holds the record schema's TEN_HUYEN (up to 250 characters); it held 150, so
  on PostgreSQL a valid record with a longer district name failed its whole package. Widening
  a varchar is a change of the catalogue only (no table rewrite), also on the partitioned
  table of stored records.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("warehouse", "0004_record_heads"),
    ]

    operations = [
        migrations.AddField(
            model_name="receivedpackage",
            name="attempts",
            field=models.PositiveIntegerField(
                db_default=0, default=0, verbose_name="processing attempts"
            ),
        ),
        migrations.AddField(
            model_name="receivedpackage",
            name="last_error",
            field=models.TextField(blank=True, db_default="", verbose_name="last processing error"),
        ),
        migrations.AddField(
            model_name="receivedpackage",
            name="next_attempt_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="next attempt"),
        ),
        migrations.AlterField(
            model_name="schoolcount",
            name="district_name",
            field=models.CharField(blank=True, max_length=250),
        ),
        migrations.AlterField(
            model_name="storedrecord",
            name="district_name",
            field=models.CharField(blank=True, max_length=250),
        ),
    ]
