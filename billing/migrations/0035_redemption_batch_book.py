"""Redemption batches name their book (``billing.payments.redemption``): existing batches are the
operator's (NULL)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_customer_chain"),
        ("billing", "0034_ledger_books"),
    ]

    operations = [
        migrations.AddField(
            model_name="redemptionbatch",
            name="book",
            field=models.ForeignKey(
                blank=True,
                help_text="The sub-distributor whose book the codes credit; blank for the operator.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="redemption_batches",
                to="accounts.customer",
                verbose_name="issued by",
            ),
        ),
    ]
