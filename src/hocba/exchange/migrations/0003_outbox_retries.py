"""A record the warehouse asks to be sent again later (a transient per-record answer such as
PROCESSING_FAILED, or no answer at all) goes back to the outbox and waits before it is packed
again, longer each time (`retries`, `next_attempt_at`). `retries` has a database default, so
processes still running the code before this migration keep writing outbox rows."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("exchange", "0002_sender_state"),
    ]

    operations = [
        migrations.AddField(
            model_name="outboxitem",
            name="next_attempt_at",
            field=models.DateTimeField(
                blank=True,
                help_text="after an answer asking for it to be sent again later",
                null=True,
                verbose_name="not sent before",
            ),
        ),
        migrations.AddField(
            model_name="outboxitem",
            name="retries",
            field=models.PositiveIntegerField(
                db_default=0,
                default=0,
                help_text="answers that asked for the record to be sent again later",
                verbose_name="times to be sent again",
            ),
        ),
    ]
