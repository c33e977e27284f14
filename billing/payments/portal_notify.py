"""A portal customer tells finance about a bank transfer it sent (with the bank slip): the transfer is
recorded as ``pending`` in its seller's book by the customer user, and finance (or the reseller selling to
it) approves or rejects it as any other (``billing.payments.bank_transfers``, four eyes included: the
recorder is the customer user, so any finance user may decide).

The customer sees where to pay first: its seller's bank details (``accounts.identity.payment_instructions``),
a reseller's for a reseller's customer, never the operator's above it.
"""

from datetime import date
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.models import Customer, User
from billing.payments.bank_transfers import attachment_validate, bank_transfer_record, customer_notice
from billing.payments.models import BankTransfer
from billing.payments.selectors import with_notice_flag


def may_notify(user: User) -> bool:
    """Owners and billing members notify their organisation's transfers; viewers only read."""
    membership = getattr(user, "membership", None)
    return membership is not None and customer_notice(user, membership.customer)


def bank_transfer_notify(
    *,
    user: User,
    currency: str,
    amount: Decimal,
    reference: str,
    value_date: date,
    attachment,
    note: str = "",
) -> BankTransfer:
    """Record the transfer ``user``'s organisation says it sent, pending finance's approval."""
    if not may_notify(user):
        raise PermissionDenied(
            _("Only your organisation's owners and billing contacts can notify transfers.")
        )
    if not attachment:
        raise ValidationError({"attachment": _("Attach the bank slip (PDF, PNG or JPEG).")})
    try:
        attachment_validate(attachment)
    except ValidationError as exc:
        # Said on the file field of the form, not above it.
        raise ValidationError({"attachment": exc.messages}) from exc
    if not reference.strip():
        raise ValidationError(
            {"reference": _("Enter the bank reference (transaction number) of the transfer.")}
        )
    return bank_transfer_record(
        recorder=user,
        customer=user.membership.customer,
        currency=currency,
        amount=amount,
        reference=reference,
        value_date=value_date,
        attachment=attachment,
        note=note,
    )


def customer_bank_transfers(customer: Customer) -> QuerySet[BankTransfer]:
    """``customer``'s own bank transfers, notified by it or recorded by finance, newest first."""
    return with_notice_flag(BankTransfer.objects.filter(customer=customer).select_related("recorded_by"))
