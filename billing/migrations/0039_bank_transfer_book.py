"""Bank transfers belong to a book (the customer's seller; none = the operator's) and their references are
unique per book: a reseller's bank numbers its lines independently of the operator's."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill_books(apps, schema_editor):
    # The book a transfer was credited in is its customer's seller (the operator's for everyone before
    # chains); a transfer of an operator customer keeps book NULL.
    BankTransfer = apps.get_model("billing", "BankTransfer")
    Customer = apps.get_model("accounts", "Customer")
    BankTransfer.objects.filter(customer__seller__isnull=False).update(
        book_id=Subquery(Customer.objects.filter(pk=OuterRef("customer_id")).values("seller_id")[:1])
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_customer_chain"),
        ("billing", "0038_period_close_book"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="banktransfer",
            name="payments_bank_transfer_reference_unique",
        ),
        migrations.AddField(
            model_name="banktransfer",
            name="book",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="accounts.customer",
                verbose_name="book",
            ),
        ),
        migrations.RunPython(fill_books, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="banktransfer",
            constraint=models.UniqueConstraint(
                condition=models.Q(
                    models.Q(("status__in", ["rejected", "reversed"]), _negated=True), ("book__isnull", False)
                ),
                fields=("book", "reference", "currency"),
                name="payments_bank_transfer_reference_unique",
            ),
        ),
        migrations.AddConstraint(
            model_name="banktransfer",
            constraint=models.UniqueConstraint(
                condition=models.Q(
                    models.Q(("status__in", ["rejected", "reversed"]), _negated=True), ("book__isnull", True)
                ),
                fields=("reference", "currency"),
                name="payments_bank_transfer_reference_unique_operator",
            ),
        ),
    ]
