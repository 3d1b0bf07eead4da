"""A school's counts keep the newest report: `reported_at` is the time the school made the
package that carried them (it was the time the row was last written), so that packages of one
school processed side by side, in any order, leave the newest figures. Existing rows keep their
time. Only Django's state changes (no SQL)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("warehouse", "0005_processing_attempts"),
    ]

    operations = [
        migrations.AlterField(
            model_name="schoolcount",
            name="reported_at",
            field=models.DateTimeField(),
        ),
    ]
