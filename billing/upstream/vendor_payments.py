"""Paying vendor invoices from the bank, partly or fully, in the bank's currency when it differs.

One journal transaction per payment, balanced in every currency it touches (the ledger's rule):

* bank in the invoice's currency ``C``: Dr PAYABLE (C) / Cr CASH_BANK (C);
* bank in another currency ``B``: the payable is settled in ``C`` and the bank pays ``bank_amount`` in
  ``B``; the two currencies meet in FX gain/loss, one leg in each (trading accounts):
  Dr PAYABLE (C) / Cr FX_GAIN_LOSS (C) and Dr FX_GAIN_LOSS (B) / Cr CASH_BANK (B). Translated at the
  payment date's rates, those two legs are the bank's conversion spread;
* when ``C`` is not the base currency, the payable was booked at the invoice date's rate and settles at
  the payment date's: ``amount × (payment rate − invoice rate)`` is realised in the base currency, as
  ``billing.fx.realised`` does for customer payments — a loss Dr FX_GAIN_LOSS / Cr the payables' FX
  revaluation account, a gain the reverse. Its source names the payable account
  (``fx.realised:payable:<code>``) so the month-end revaluation can count it in the carried value.

Dated FX rates come from ``billing.fx.rates.BaseRates`` (the latest rate on or before the date); a missing
rate is an error on ``paid_on`` naming the pair and date, before anything is posted. A payment is
identified by its invoice and bank reference: recorded again with the same figures it is "unchanged".
"""

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from billing.fx.accounts import adjustment_account, realised_account
from billing.fx.rates import BaseRates, FxRatesMissing
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind
from billing.ledger.services import credit, debit, transaction_post
from billing.money import quantize_money
from billing.upstream.ledger_accounts import channel_account
from billing.upstream.models import VendorBill, VendorPayment
from billing.upstream.money_checks import amount_check
from common.stored_text import money, stored

K = AccountKind


def bill_outstanding(bill: VendorBill) -> Decimal:
    return bill.amount - bill.paid_amount


def _payable_check(bill: VendorBill) -> None:
    if bill.state == VendorBill.State.VOID:
        raise ValidationError({"bill": _("Invoice %(number)s is void.") % {"number": bill.number}})
    if bill.transaction_id is None:
        raise ValidationError(
            {
                "bill": _(
                    "Invoice %(number)s is the vendor's statement of prepaid consumption: nothing is owed "
                    "on it."
                )
                % {"number": bill.number}
            }
        )


def realised_fx(bill: VendorBill, amount: Decimal, paid_on: date, rates: BaseRates) -> Decimal:
    """Base-currency realised loss (positive) or gain (negative) of settling ``amount`` of ``bill``."""
    if bill.currency == rates.base:
        return Decimal(0)
    booked, settled = rates.rate(bill.currency, bill.issued_on), rates.rate(bill.currency, paid_on)
    if booked is None or settled is None:
        return Decimal(0)
    return quantize_money(amount * (settled - booked), rates.base)


def _clean(bill, amount, paid_on, reference, bank_currency, bank_amount) -> dict:
    _payable_check(bill)
    reference = (reference or "").strip()
    if not reference:
        raise ValidationError({"reference": _("Enter the bank's reference of the payment.")})
    if len(reference) > 120:
        raise ValidationError({"reference": _("A bank reference has at most 120 characters.")})
    if not isinstance(paid_on, date):
        raise ValidationError({"paid_on": _("Enter the date the bank paid.")})
    if paid_on < bill.issued_on:
        raise ValidationError({"paid_on": _("A payment cannot precede the invoice it pays.")})
    amount = amount_check(amount, bill.currency)
    bank_currency = (bank_currency or bill.currency).strip().upper()
    if len(bank_currency) != 3 or not bank_currency.isalpha():
        raise ValidationError({"bank_currency": _("Enter the bank account's currency, such as CNY.")})
    if bank_currency == bill.currency:
        if bank_amount is not None and bank_amount != amount:
            raise ValidationError(
                {"bank_amount": _("Paid in the invoice's currency, the bank pays the amount settled.")}
            )
        bank_amount = amount
    elif bank_amount is None:
        raise ValidationError(
            {
                "bank_amount": _("Enter what the bank paid in %(currency)s for %(amount)s %(bill)s.")
                % {"currency": bank_currency, "amount": amount, "bill": bill.currency}
            }
        )
    bank_amount = amount_check(bank_amount, bank_currency, field="bank_amount")
    return {
        "amount": amount,
        "paid_on": paid_on,
        "reference": reference,
        "bank_currency": bank_currency,
        "bank_amount": bank_amount,
    }


def vendor_payment_record(
    *,
    bill: VendorBill,
    amount: Decimal,
    paid_on: date,
    reference: str,
    bank_currency: str | None = None,
    bank_amount: Decimal | None = None,
    created_by=None,
) -> tuple[VendorPayment, str]:
    """Pay ``amount`` (invoice currency) of ``bill`` from the bank; return the payment and "created" or
    "unchanged". ``bank_currency`` defaults to the invoice's; in another currency give ``bank_amount``.

    Raises ValidationError naming the field: an amount above what is still owed, a void invoice or a
    prepaid channel's statement, a missing exchange rate, a reference reused with other figures."""
    fields = _clean(bill, amount, paid_on, reference, bank_currency, bank_amount)
    with transaction.atomic():
        bill = (
            VendorBill.objects.select_for_update().select_related("channel__contract__vendor").get(pk=bill.pk)
        )
        existing = VendorPayment.objects.filter(bill=bill, reference=fields["reference"]).first()
        if existing is not None:
            for name, value in fields.items():
                if getattr(existing, name) != value:
                    raise ValidationError(
                        {
                            name: _(
                                "Payment %(reference)s of invoice %(number)s is already recorded with other "
                                "figures."
                            )
                            % {"reference": existing.reference, "number": bill.number}
                        }
                    )
            return existing, "unchanged"
        _payable_check(bill)
        if fields["amount"] > bill_outstanding(bill):
            raise ValidationError(
                {
                    "amount": _("Invoice %(number)s has %(left)s %(currency)s left to pay.")
                    % {"number": bill.number, "left": bill_outstanding(bill), "currency": bill.currency}
                }
            )
        payment = VendorPayment.objects.create(bill=bill, created_by=created_by, **fields)
        payment.transaction = _post(bill, payment, actor=created_by)
        payment.save(update_fields=["transaction"])
        bill.paid_amount += payment.amount
        if bill.paid_amount >= bill.amount:
            bill.state = VendorBill.State.PAID
        bill.save(update_fields=["paid_amount", "state"])
    return payment, "created"


def _post(bill: VendorBill, payment: VendorPayment, *, actor):
    rates = BaseRates()
    ccy, bank_ccy = bill.currency, payment.bank_currency
    payable = channel_account(bill.channel, K.PAYABLE)
    lines = [debit(payable, payment.amount, ccy)]
    if bank_ccy == ccy:
        lines.append(credit(account_get(kind=K.CASH_BANK, currency=ccy), payment.amount, ccy))
    else:
        lines += [
            credit(account_get(kind=K.FX_GAIN_LOSS, currency=ccy), payment.amount, ccy),
            debit(account_get(kind=K.FX_GAIN_LOSS, currency=bank_ccy), payment.bank_amount, bank_ccy),
            credit(account_get(kind=K.CASH_BANK, currency=bank_ccy), payment.bank_amount, bank_ccy),
        ]
    loss = realised_fx(bill, payment.amount, payment.paid_on, rates)
    try:
        rates.raise_if_missing()
    except FxRatesMissing as exc:
        raise ValidationError({"paid_on": str(exc)}) from None
    if loss:
        base = rates.base
        fx_payable, fx_income = adjustment_account(K.PAYABLE), realised_account()
        lines += (
            [debit(fx_income, loss, base), credit(fx_payable, loss, base)]
            if loss > 0
            else [credit(fx_income, -loss, base), debit(fx_payable, -loss, base)]
        )
    source = f"fx.realised:payable:{payable.code}" if loss else f"upstream.payment:{payment.pk}"
    return transaction_post(
        idempotency_key=f"upstream.payment:{payment.pk}",
        kind="upstream.payment",
        lines=lines,
        memo=(
            f"Payment {payment.reference} of vendor invoice {bill.number} ({bill.channel.name}): "
            f"{payment.amount} {ccy}" + (f" for {payment.bank_amount} {bank_ccy}" if bank_ccy != ccy else "")
        ),
        memo_message=stored(
            "upstream.memo.payment_fx" if bank_ccy != ccy else "upstream.memo.payment",
            reference=payment.reference,
            bill=bill.number,
            channel=bill.channel.name,
            amount=money(payment.amount, ccy),
            currency=ccy,
            **(
                {"bank_amount": money(payment.bank_amount, bank_ccy), "bank_currency": bank_ccy}
                if bank_ccy != ccy
                else {}
            ),
        ),
        source=source,
        effective_date=payment.paid_on,
        actor=actor,
    )
