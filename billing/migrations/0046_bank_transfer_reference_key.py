"""Bank references compared in their normalised form, and a customer's pending notice holding no bank line.

``reference_key`` (upper case, no spaces or dashes, full-width folded) replaces ``reference`` in the unique
constraints, so "ICBC-777" recorded by finance and "icbc 777" notified by a customer cannot both be
credited. ``notified`` marks a transfer the customer notified from the portal: while pending it holds no
slot, so it neither keeps finance from recording the real bank line nor tells the customer that another
customer's reference exists; it takes the slot when approved (``billing.payments.models.HOLDS_REFERENCE``).

Existing rows: the key is computed from the reference; a transfer is a notice when its recorder is not
staff and not a member of the book (the rule ``billing.payments.selectors.with_notice_flag`` reads).
"""

import re
import unicodedata

from django.db import migrations, models
from django.db.models import Q

# As ``billing.payments.models.reference_normalise`` says today (a migration keeps its own copy).
REFERENCE_NOISE = re.compile(r"[\s\-\u2010-\u2015\u2212]+")


def reference_normalise(reference: str) -> str:
    return REFERENCE_NOISE.sub("", unicodedata.normalize("NFKC", reference)).upper()


HOLDS_REFERENCE = ~Q(status__in=["rejected", "reversed"]) & (Q(notified=False) | Q(status="approved"))


def keys_fill(apps, schema_editor):
    BankTransfer = apps.get_model("billing", "BankTransfer")
    Membership = apps.get_model("accounts", "Membership")
    for transfer in BankTransfer.objects.select_related("recorded_by").iterator():
        transfer.reference_key = reference_normalise(transfer.reference)
        transfer.notified = (
            transfer.recorded_by.staff_role == ""
            and not Membership.objects.filter(
                user_id=transfer.recorded_by_id, customer_id=transfer.book_id
            ).exists()
        )
        transfer.save(update_fields=["reference_key", "notified"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_invitations"),
        ("billing", "0045_request_log"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="banktransfer", name="payments_bank_transfer_reference_unique"
        ),
        migrations.RemoveConstraint(
            model_name="banktransfer", name="payments_bank_transfer_reference_unique_operator"
        ),
        migrations.AddField(
            model_name="banktransfer",
            name="reference_key",
            field=models.CharField(
                default="", editable=False, max_length=100, verbose_name="normalised bank reference"
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="banktransfer",
            name="notified",
            field=models.BooleanField(default=False, editable=False, verbose_name="notified by the customer"),
        ),
        migrations.RunPython(keys_fill, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="banktransfer",
            constraint=models.UniqueConstraint(
                condition=HOLDS_REFERENCE & Q(book__isnull=False),
                fields=("book", "reference_key", "currency"),
                name="payments_bank_transfer_reference_unique",
            ),
        ),
        migrations.AddConstraint(
            model_name="banktransfer",
            constraint=models.UniqueConstraint(
                condition=HOLDS_REFERENCE & Q(book__isnull=True),
                fields=("reference_key", "currency"),
                name="payments_bank_transfer_reference_unique_operator",
            ),
        ),
        migrations.AddConstraint(
            model_name="banktransfer",
            constraint=models.UniqueConstraint(
                condition=Q(notified=True, status="pending"),
                fields=("customer", "reference_key", "currency"),
                name="payments_bank_transfer_notice_unique",
            ),
        ),
    ]
