from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("billing", "0028_fx_manual_journals")]

    operations = [
        migrations.AddField(
            model_name="billingterms",
            name="auto_apply_credit",
            field=models.BooleanField(
                default=True,
                help_text=(
                    "Unallocated credit is applied to open invoices, oldest due first, when an invoice is "
                    "issued and when a credit note frees paid money. Off: finance allocates it by hand."
                ),
                verbose_name="apply credit to invoices automatically",
            ),
        ),
    ]
