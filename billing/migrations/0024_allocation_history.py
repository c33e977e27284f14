"""Payment allocations become history: releases are dated rows, and the table is append-only.

Credit notes keep the fingerprint of the request that issued them, so a reused key is told from a replay.

Be careful changing this migration: statements and aging of past dates are read from these rows, and the
trigger is what lets the database, not only Python, refuse a rewritten allocation. Existing allocations
stay as they are (they were never released by a row: a credit note used to shrink or delete them, and
that history is gone); ``recorded_at`` takes their effective time. TRUNCATE is not blocked (test
databases are flushed with it). On SQLite the trigger is skipped; the model's queryset refuses instead.
"""

import billing.money
import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

INSTALL = r"""
CREATE OR REPLACE FUNCTION receivables_allocation_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused; release an allocation with a dated row instead',
        TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER receivables_allocation_append_only
    BEFORE UPDATE OR DELETE ON receivables_allocation
    FOR EACH ROW EXECUTE FUNCTION receivables_allocation_refuse_change();
"""

UNINSTALL = r"""
DROP TRIGGER IF EXISTS receivables_allocation_append_only ON receivables_allocation;
DROP FUNCTION IF EXISTS receivables_allocation_refuse_change();
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INSTALL, params=None)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UNINSTALL, params=None)


class Migration(migrations.Migration):
    dependencies = [("billing", "0023_payment_refunded")]

    operations = [
        migrations.RemoveConstraint(model_name="paymentallocation", name="allocation_amount_gt_0"),
        migrations.AddField(
            model_name="paymentallocation",
            name="reason",
            field=models.CharField(blank=True, max_length=500, verbose_name="reason"),
        ),
        migrations.AddField(
            model_name="paymentallocation",
            name="recorded_at",
            field=models.DateTimeField(
                auto_now_add=True, default=django.utils.timezone.now, verbose_name="recorded"
            ),
            preserve_default=False,
        ),
        migrations.RunSQL(
            "UPDATE receivables_allocation SET recorded_at = allocated_at", migrations.RunSQL.noop
        ),
        migrations.AddField(
            model_name="paymentallocation",
            name="releases",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="released_by",
                to="billing.paymentallocation",
                verbose_name="releases",
            ),
        ),
        migrations.AlterField(
            model_name="paymentallocation",
            name="allocated_at",
            field=models.DateTimeField(
                default=django.utils.timezone.now,
                help_text="When the allocation or its release takes effect; readers as of a date go by it.",
                verbose_name="effective",
            ),
        ),
        migrations.AlterField(
            model_name="paymentallocation",
            name="amount",
            field=billing.money.MoneyField(
                decimal_places=3,
                help_text="Major units: positive for an allocation, negative for a release of one.",
                max_digits=21,
                verbose_name="amount",
            ),
        ),
        migrations.AddConstraint(
            model_name="paymentallocation",
            constraint=models.CheckConstraint(
                condition=models.Q(models.Q(("amount__gt", 0), ("releases__isnull", True)))
                | models.Q(models.Q(("amount__lt", 0), ("releases__isnull", False))),
                name="allocation_signed_by_kind",
            ),
        ),
        migrations.AddField(
            model_name="creditnote",
            name="request_hash",
            field=models.CharField(
                blank=True, editable=False, help_text="SHA-256 of the request that issued it.", max_length=64
            ),
        ),
        migrations.RunPython(install, uninstall, elidable=False),
    ]
