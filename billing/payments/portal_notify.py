"""A portal customer tells finance about a bank transfer it sent (with the bank slip): the transfer is
recorded as ``pending`` in its seller's book by the customer user, and finance (or the reseller selling to
it) approves or rejects it as any other (``billing.payments.bank_transfers``, four eyes included: the
recorder is the customer user, so any finance user may decide).

The customer sees where to pay first: its seller's bank details (``accounts.identity.payment_instructions``),
a reseller's for a reseller's customer, never the operator's above it.
"""

import logging
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import override

from accounts.models import Customer, User
from billing.payments.bank_transfers import attachment_validate, bank_transfer_record, customer_notice
from billing.payments.models import BankTransfer
from billing.payments.selectors import with_notice_flag
from billing.terms.notifications import risk_managers
from common.currencies import amount_display

logger = logging.getLogger(__name__)


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
    site: str = "",
) -> BankTransfer:
    """Record the transfer ``user``'s organisation says it sent, pending finance's approval, and tell
    whoever decides it (``site``: the absolute root URL for the link in that e-mail)."""
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
    transfer = bank_transfer_record(
        recorder=user,
        customer=user.membership.customer,
        currency=currency,
        amount=amount,
        reference=reference,
        value_date=value_date,
        attachment=attachment,
        note=note,
    )
    _tell_deciders(transfer, site=site)
    return transfer


def _tell_deciders(transfer: BankTransfer, *, site: str) -> None:
    """E-mail those who approve it: operator finance for the operator's customers, the reseller's owner and
    billing members for its own (the same people who hear of credit-limit crossings). The notice is saved
    whatever the mail server says: the transfer is listed as pending for them either way."""
    recipients, language = risk_managers(transfer.customer)
    if not recipients:
        return
    path = (
        reverse("staff-bank-transfer-detail", args=[transfer.pk])
        if transfer.book_id is None
        else reverse("portal-seller-transfers")
    )
    with override(language):
        values = {
            "customer": transfer.customer.name,
            "code": transfer.customer.code,
            "amount": amount_display(transfer.amount, transfer.currency),
            "currency": transfer.currency,
            "reference": transfer.reference,
            "day": transfer.value_date.isoformat(),
        }
        subject = _("Bank transfer notified by %(customer)s: %(amount)s %(currency)s") % values
        body = (
            _(
                "%(customer)s (%(code)s) says it sent %(amount)s %(currency)s by bank transfer, reference "
                "%(reference)s, value date %(day)s, and attached its slip. Match it with the bank statement, "
                "then approve or reject it:"
            )
            % values
        )
    try:
        send_mail(subject, f"{body}\n{site.rstrip('/')}{path}\n", settings.DEFAULT_FROM_EMAIL, recipients)
    except OSError:
        logger.warning("Could not e-mail the notice of bank transfer %s", transfer.pk, exc_info=True)


def customer_bank_transfers(customer: Customer) -> QuerySet[BankTransfer]:
    """``customer``'s own bank transfers, notified by it or recorded by finance, newest first."""
    return with_notice_flag(BankTransfer.objects.filter(customer=customer).select_related("recorded_by"))
