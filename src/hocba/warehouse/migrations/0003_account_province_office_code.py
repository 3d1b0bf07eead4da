"""A warehouse account holds the Sở code (MA_SO_GD) its records carry: a school's Sở, or the Sở
itself. Accounts registered before are filled in where this instance knows the answer: from its
own catalogue of schools and departments, or else from the records it already accepted from the
account (one Sở code only); the others stay empty and their records are refused with
OFFICE_MISMATCH until the account is registered again with `--office`."""

from django.db import migrations, models


def fill_office_codes(apps, schema_editor):  # type: ignore[no-untyped-def]
    Account = apps.get_model("warehouse", "Account")
    StoredRecord = apps.get_model("warehouse", "StoredRecord")
    School = apps.get_model("organizations", "School")
    ProvinceOffice = apps.get_model("organizations", "ProvinceOffice")
    for account in Account.objects.filter(province_office_code="", kind__in=("SCHOOL", "PROVINCE")):
        if account.kind == "SCHOOL":
            catalogue = School.objects.filter(code=account.school_code).values_list(
                "province_office__code", flat=True
            )
            stored = StoredRecord.objects.filter(school_code=account.school_code)
        else:
            catalogue = ProvinceOffice.objects.filter(
                province_code=account.province_code
            ).values_list("code", flat=True)
            stored = StoredRecord.objects.filter(province_code=account.province_code)
        codes = set(catalogue) or set(
            stored.order_by().values_list("province_office_code", flat=True).distinct()[:2]
        )
        if len(codes) == 1:
            account.province_office_code = codes.pop()
            account.save(update_fields=["province_office_code"])


class Migration(migrations.Migration):
    dependencies = [
        ("organizations", "0001_initial"),
        ("warehouse", "0002_partition_stored_records"),
    ]

    operations = [
        migrations.AddField(
            model_name="account",
            name="province_office_code",
            field=models.CharField(blank=True, max_length=2, verbose_name="Sở code"),
        ),
        migrations.RunPython(fill_office_codes, migrations.RunPython.noop),
    ]
