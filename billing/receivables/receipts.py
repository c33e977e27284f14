"""Numbered receipts for money received: prepaid top-ups (card or bank) and credit customers' payments.

Each function is called inside the transaction that records the money as received, so the receipt and
its gapless number exist exactly when the money does. Calling again returns the same receipt.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from billing.invoicing.numbering import number_next
from billing.receivables.models import CustomerPayment, Receipt

if TYPE_CHECKING:  # payments sits above receivables and calls receipt_for_topup
    from billing.payments.models import BankTransfer, CardTopUp


def _receipt(*, customer, amount, currency, issue_date: date, **source) -> Receipt:
    with transaction.atomic():
        existing = Receipt.objects.select_for_update().filter(**source).first()
        if existing is not None:
            return existing
        series, number = number_next("receipt", on=issue_date, book=customer.seller_id)
        return Receipt.objects.create(
            customer=customer,
            series=series,
            number=number,
            amount=amount,
            currency=currency,
            language=customer.language,
            issue_date=issue_date,
            **source,
        )


def receipt_for_topup(
    *, card_topup: CardTopUp | None = None, bank_transfer: BankTransfer | None = None
) -> Receipt:
    """Return the receipt of a paid card top-up or an approved bank transfer, creating it once."""
    if (card_topup is None) == (bank_transfer is None):
        raise ValueError("Pass exactly one of card_topup and bank_transfer.")
    if card_topup is not None:
        # What the card paid, including a card fee passed on to the customer.
        return _receipt(
            customer=card_topup.customer,
            amount=card_topup.charged,
            currency=card_topup.currency,
            issue_date=timezone.localdate(card_topup.paid_at) if card_topup.paid_at else timezone.localdate(),
            card_topup=card_topup,
        )
    return _receipt(
        customer=bank_transfer.customer,
        amount=bank_transfer.amount,
        currency=bank_transfer.currency,
        issue_date=timezone.localdate(),
        bank_transfer=bank_transfer,
    )


def receipt_for_payment(*, payment: CustomerPayment) -> Receipt:
    """Return the receipt of a received credit-customer payment, creating it once."""
    return _receipt(
        customer=payment.customer,
        amount=payment.amount,
        currency=payment.currency,
        issue_date=payment.received_on or timezone.localdate(),
        payment=payment,
    )
