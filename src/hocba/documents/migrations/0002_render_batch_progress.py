"""A render batch's progress moves to its job (hocba.jobs): each batch gets a Job holding what
it had (state, done, total, when it finished); a batch left RUNNING by a killed thread is
failed, since nothing will finish it."""

import django.db.models.deletion
from django.db import migrations, models

KIND = "hocba.documents.tasks.render_batch"


def to_jobs(apps, schema_editor):
    RenderJob = apps.get_model("documents", "RenderJob")
    Job = apps.get_model("jobs", "Job")
    for batch in RenderJob.objects.all():
        state = batch.status
        error = ""
        if state in ("QUEUED", "RUNNING"):
            state, error = "FAILED", "Lô bị dừng giữa chừng; hãy dựng lại"
        job = Job.objects.create(
            kind=KIND,
            state=state,
            done=batch.done,
            total=batch.total,
            error=error,
            task_id="migrated",
            finished_at=batch.finished_at or batch.created_at,
        )
        batch.progress = job
        batch.save(update_fields=["progress"])


class Migration(migrations.Migration):
    dependencies = [
        ("documents", "0001_initial"),
        ("jobs", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="renderjob",
            name="progress",
            field=models.OneToOneField(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="render_batch",
                to="jobs.job",
                verbose_name="progress",
            ),
        ),
        migrations.AddField(
            model_name="renderjob",
            name="version_ids",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.RunPython(to_jobs, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="renderjob",
            name="progress",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="render_batch",
                to="jobs.job",
                verbose_name="progress",
            ),
        ),
        migrations.RemoveField(model_name="renderjob", name="status"),
        migrations.RemoveField(model_name="renderjob", name="total"),
        migrations.RemoveField(model_name="renderjob", name="done"),
        migrations.RemoveField(model_name="renderjob", name="finished_at"),
    ]
