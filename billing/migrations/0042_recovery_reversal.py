# A recovery undone when the payment that made it bounces or is paid back: a negative row pointing at it.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0041_working_capital"),
    ]

    operations = [
        migrations.AddField(
            model_name="baddebtrecovery",
            name="reverses",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="reversals",
                to="billing.baddebtrecovery",
                verbose_name="reverses",
            ),
        ),
        migrations.RemoveConstraint(
            model_name="baddebtrecovery",
            name="bad_debt_recovery_amount_gt_0",
        ),
        migrations.AddConstraint(
            model_name="baddebtrecovery",
            constraint=models.CheckConstraint(
                condition=models.Q(("amount__gt", 0), ("reverses__isnull", True))
                | models.Q(("amount__lt", 0), ("reverses__isnull", False)),
                name="bad_debt_recovery_amount_sign",
            ),
        ),
    ]
