"""A foreign vendor invoice paid at another rate than it was booked: its realised FX counts in the carried
value of the payable, so the month-end revaluation finds no unrealised difference on a settled invoice."""

from datetime import date
from decimal import Decimal

import pytest

from billing.fx.models import FxRevaluation
from billing.fx.revaluation import fx_revaluation_run
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind
from billing.ledger.verify import ledger_problems
from billing.upstream.bills import vendor_bill_record
from billing.upstream.ledger_accounts import channel_account
from billing.upstream.vendor_payments import vendor_payment_record
from catalog.models import Settlement
from catalog.services.contracts import channel_create
from catalog.services.fx import fx_rate_set
from tests.billing.upstream.ledger.conftest import contract_make

pytestmark = pytest.mark.django_db
K = AccountKind


@pytest.fixture
def usd_channel(model):
    contract = contract_make(model, name="OpenAI USD", settlement=Settlement.POSTPAID)
    contract.currency = "USD"
    contract.save(update_fields=["currency"])
    fx_rate_set(base="USD", quote="CNY", on=date(2026, 1, 1), rate=Decimal("7.0"))
    fx_rate_set(base="USD", quote="CNY", on=date(2026, 2, 1), rate=Decimal("7.2"))
    fx_rate_set(base="USD", quote="CNY", on=date(2026, 3, 1), rate=Decimal("7.3"))
    return channel_create(contract=contract, name="openai-main")


def record(channel, number, amount):
    return vendor_bill_record(
        channel=channel,
        number=number,
        kind="usage",
        month=date(2026, 1, 1),
        amount=Decimal(amount),
        currency="USD",
        issued_on=date(2026, 1, 5),
    )[0]


def test_a_paid_usd_invoice_leaves_no_unrealised_difference_at_month_end(usd_channel):
    bill = record(usd_channel, "OA-1", "100")
    vendor_payment_record(
        bill=bill, amount=Decimal("100"), paid_on=date(2026, 2, 5), reference="B-1", bank_currency="USD"
    )
    payable = channel_account(usd_channel, K.PAYABLE)
    # booked at 7.0, settled at 7.2: 20 CNY realised when paid
    assert account_get(kind=K.FX_REVALUATION_PAYABLE, currency="CNY").balance == Decimal(-20)
    fx_revaluation_run(month_end=date(2026, 2, 28))
    assert not FxRevaluation.objects.filter(account=payable).exists()
    assert ledger_problems() == []


def test_a_partly_paid_usd_invoice_revalues_only_what_is_still_owed(usd_channel):
    bill = record(usd_channel, "OA-1", "100")
    vendor_payment_record(
        bill=bill, amount=Decimal("40"), paid_on=date(2026, 2, 5), reference="B-1", bank_currency="USD"
    )
    payable = channel_account(usd_channel, K.PAYABLE)
    fx_revaluation_run(month_end=date(2026, 2, 28))
    revalued = FxRevaluation.objects.get(account=payable)
    # 60 USD still owed, booked at 7.0, worth 7.2 at the month end: 12 CNY more owed
    assert (revalued.balance, revalued.difference) == (Decimal(-60), Decimal(-12))
    fx_revaluation_run(month_end=date(2026, 3, 31))
    march = FxRevaluation.objects.get(account=payable, month_end=date(2026, 3, 31))
    assert march.difference == Decimal(-18)  # 60 × (7.3 − 7.0), from history again
    assert ledger_problems() == []
