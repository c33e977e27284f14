"""Rollup tables tuned for their upserts: room on each page for HOT updates, no redundant indexes.

Every bulk chunk and every usage batch ends in ``INSERT … ON CONFLICT DO UPDATE`` on usage_hourly and
usage_daily that only adds to counter and amount columns, none of them indexed. PostgreSQL can then do a
HOT update (no index entries written) provided the new row version fits on the same page, so the tables
keep 40% of each page free (fillfactor 60). ALTER TABLE … SET (fillfactor) applies to pages written from
now on; existing rows keep their packed pages until the table is rewritten (VACUUM FULL / pg_repack at a
quiet time). On SQLite the fillfactor step does nothing.

Indexes removed, each covered by an index that leads with the same column(s):
- usage_hourly / usage_daily single-column customer_id (Django's ForeignKey index): covered by
  usage_hourly_customer (customer_id, hour) and usage_daily_customer (customer_id, day);
- usage_daily_day (day): covered by the unique usage_daily_key (day, customer_id, model_id, …).
"""

import django.db.models.deletion
from django.db import migrations, models

ROLLUP_TABLES = ("usage_hourly", "usage_daily")
FILLFACTOR = 60


def fillfactor_set(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in ROLLUP_TABLES:
            schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = {FILLFACTOR})")


def fillfactor_reset(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in ROLLUP_TABLES:
            schema_editor.execute(f"ALTER TABLE {table} RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("billing", "0006_ledger_payment_fees_kind"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="usagedaily",
            name="usage_daily_day",
        ),
        migrations.AlterField(
            model_name="usagedaily",
            name="customer",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="accounts.customer",
            ),
        ),
        migrations.AlterField(
            model_name="usagehourly",
            name="customer",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="accounts.customer",
            ),
        ),
        migrations.RunPython(fillfactor_set, fillfactor_reset, elidable=False),
    ]
