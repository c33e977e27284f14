"""A period close runs for every book or for one seller's (billing.invoicing.close.services)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_customer_chain"),
        ("billing", "0037_usage_event_hops"),
    ]

    operations = [
        migrations.AddField(
            model_name="periodclose",
            name="all_books",
            field=models.BooleanField(default=True, verbose_name="all books"),
        ),
        migrations.AddField(
            model_name="periodclose",
            name="book",
            field=models.ForeignKey(
                blank=True,
                help_text="The reseller whose customers this close invoiced; none: the operator's (or all books).",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="period_closes",
                to="accounts.customer",
                verbose_name="book",
            ),
        ),
    ]
