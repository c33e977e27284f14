"""Usage events are stored once per hop of the distribution chain: ``hop`` (0 = the gateway's event) and
``end_customer`` (on derived rows, the hop-0 customer); the commission rating state.

``usage_event`` is partitioned by month: adding a column to the parent adds it to every partition, and a
constant default (PostgreSQL 11+) rewrites none of them. ``hop`` keeps its database default so that rows
written by COPY without it (and every existing row) are hop 0. No index: derived rows are found by their
customer (``usage_event_customer_at``) like any event.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_customer_chain"),
        ("billing", "0036_commission"),
    ]

    operations = [
        migrations.AddField(
            model_name="usageevent",
            name="hop",
            field=models.PositiveSmallIntegerField(
                db_default=0,
                default=0,
                help_text="0: the gateway's event; 1, 2…: its rating one hop up the chain.",
            ),
        ),
        migrations.AddField(
            model_name="usageevent",
            name="end_customer",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                help_text="On a derived row (hop > 0): the customer whose request it was.",
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="accounts.customer",
            ),
        ),
        migrations.AlterField(
            model_name="usageevent",
            name="rating_state",
            field=models.CharField(
                choices=[
                    ("rated", "Rated"),
                    ("unrated", "Unrated"),
                    ("not_charged", "Not charged (failed request)"),
                    ("commission", "Commission"),
                ],
                default="unrated",
                max_length=12,
            ),
        ),
    ]
