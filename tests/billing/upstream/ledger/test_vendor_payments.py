"""Paying vendor invoices: partly, fully, from a bank in another currency, with the realised FX."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind, JournalTransaction
from billing.ledger.verify import ledger_problems
from billing.upstream.bills import vendor_bill_record
from billing.upstream.ledger_accounts import channel_account
from billing.upstream.models import VendorBill
from billing.upstream.packs import upstream_pack_buy
from billing.upstream.vendor_payments import vendor_payment_record
from catalog.models import Settlement
from catalog.services.contracts import channel_create
from catalog.services.fx import fx_rate_set
from tests.billing.upstream.ledger.conftest import at, contract_make

pytestmark = pytest.mark.django_db
K = AccountKind


@pytest.fixture
def usd_bill(model):
    contract = contract_make(model, name="OpenAI USD", settlement=Settlement.POSTPAID)
    contract.currency = "USD"
    contract.save(update_fields=["currency"])
    channel = channel_create(contract=contract, name="openai-main")
    fx_rate_set(base="USD", quote="CNY", on=date(2026, 1, 1), rate=Decimal("7.0"))
    fx_rate_set(base="USD", quote="CNY", on=date(2026, 2, 1), rate=Decimal("7.2"))
    bill, _ = vendor_bill_record(
        channel=channel,
        number="OA-1",
        kind=VendorBill.Kind.USAGE,
        month=date(2026, 1, 1),
        amount=Decimal("100.00"),
        currency="USD",
        issued_on=date(2026, 1, 5),
    )
    return bill


def test_partial_then_full_payment_from_a_cny_bank_realises_fx(usd_bill):
    channel = usd_bill.channel
    first, outcome = vendor_payment_record(
        bill=usd_bill,
        amount=Decimal("40.00"),
        paid_on=date(2026, 2, 5),
        reference="BANK-1",
        bank_currency="CNY",
        bank_amount=Decimal("290.00"),
    )
    usd_bill.refresh_from_db()
    assert (outcome, usd_bill.state, usd_bill.paid_amount) == ("created", "open", Decimal("40"))

    vendor_payment_record(
        bill=usd_bill,
        amount=Decimal("60.00"),
        paid_on=date(2026, 2, 6),
        reference="BANK-2",
        bank_currency="CNY",
        bank_amount=Decimal("433.00"),
    )
    usd_bill.refresh_from_db()
    assert usd_bill.state == VendorBill.State.PAID
    assert channel_account(channel, K.PAYABLE).balance == 0
    assert account_get(kind=K.CASH_BANK, currency="CNY").balance == Decimal("-723")
    # booked at 7.0 on the invoice date, settled at 7.2: 100 × 0.2 = 20 CNY realised loss
    assert account_get(kind=K.FX_REVALUATION_PAYABLE, currency="CNY").balance == Decimal("-20")
    fx_cny = account_get(kind=K.FX_GAIN_LOSS, currency="CNY").balance
    fx_usd = account_get(kind=K.FX_GAIN_LOSS, currency="USD").balance
    assert fx_cny == Decimal("743")  # 723 paid in CNY + 20 realised
    assert fx_usd == Decimal("-100")  # 100 USD settled
    # at the payment date's rate the legs net to the realised loss and the bank's 3 CNY spread
    assert fx_cny + fx_usd * Decimal("7.2") == Decimal("23")
    assert first.transaction.source.startswith("fx.realised:payable:payable:USD")
    assert ledger_problems() == []


def test_payment_is_idempotent_by_reference_and_refuses_overpayment(usd_bill):
    pay = {
        "bill": usd_bill,
        "amount": Decimal("100"),
        "paid_on": date(2026, 2, 5),
        "reference": "B-9",
        "bank_currency": "USD",
    }
    payment, _ = vendor_payment_record(**pay)
    again, outcome = vendor_payment_record(**pay)
    assert (again.pk, outcome) == (payment.pk, "unchanged")
    assert JournalTransaction.objects.filter(kind="upstream.payment").count() == 1
    with pytest.raises(ValidationError) as caught:
        vendor_payment_record(**(pay | {"amount": Decimal("99")}))
    assert list(caught.value.message_dict) == ["amount"]
    with pytest.raises(ValidationError) as caught:
        vendor_payment_record(**(pay | {"reference": "B-10", "amount": Decimal("0.01")}))
    assert "left to pay" in caught.value.message_dict["amount"][0]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"reference": ""}, "reference"),
        ({"amount": Decimal("-5")}, "amount"),
        ({"paid_on": date(2026, 1, 1)}, "paid_on"),
        ({"bank_currency": "CNY"}, "bank_amount"),
        ({"bank_amount": Decimal("7")}, "bank_amount"),
    ],
)
def test_bad_payment_names_the_field(usd_bill, overrides, field):
    pay = {"bill": usd_bill, "amount": Decimal("10"), "paid_on": date(2026, 2, 5), "reference": "B-1"}
    with pytest.raises(ValidationError) as caught:
        vendor_payment_record(**(pay | overrides))
    assert list(caught.value.message_dict) == [field]


def test_a_missing_rate_is_an_error_on_the_payment_date_and_posts_nothing(usd_bill):
    older, _ = vendor_bill_record(
        channel=usd_bill.channel,
        number="OA-0",
        kind="usage",
        month=date(2025, 12, 1),
        amount=Decimal("10"),
        currency="USD",
        issued_on=date(2025, 12, 20),
    )
    with pytest.raises(ValidationError) as caught:
        vendor_payment_record(bill=older, amount=Decimal("10"), paid_on=date(2026, 1, 9), reference="B-1")
    assert "USD→CNY 2025-12-20" in caught.value.message_dict["paid_on"][0]
    older.refresh_from_db()
    assert older.paid_amount == 0 and not older.payments.exists()


def test_a_prepaid_statement_and_a_void_invoice_cannot_be_paid(channel):
    statement, _ = vendor_bill_record(
        channel=channel,
        number="S-1",
        kind="usage",
        month=date(2026, 1, 1),
        amount=Decimal("5"),
        currency="CNY",
        issued_on=date(2026, 2, 1),
    )
    with pytest.raises(ValidationError) as caught:
        vendor_payment_record(bill=statement, amount=Decimal("5"), paid_on=date(2026, 2, 2), reference="X")
    assert list(caught.value.message_dict) == ["bill"]


def test_a_pack_bought_on_invoice_is_paid_like_any_invoice(channel):
    upstream_pack_buy(
        channel=channel,
        kind="prepayment",
        reference="TOPUP-1",
        price=Decimal("500"),
        purchased_at=at(date(2026, 1, 2)),
    )
    bill = VendorBill.objects.get(number="TOPUP-1")
    vendor_payment_record(bill=bill, amount=Decimal("500"), paid_on=date(2026, 1, 3), reference="B-1")
    bill.refresh_from_db()
    assert bill.state == VendorBill.State.PAID
    assert channel_account(channel, K.PAYABLE).balance == 0
    assert channel_account(channel, K.UPSTREAM_PREPAID).balance == Decimal("500")
    assert account_get(kind=K.CASH_BANK, currency="CNY").balance == Decimal("-500")
