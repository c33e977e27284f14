"""FX: month-end revaluation of foreign-currency receivables, deposits and payables (unrealised, reversed on
the 1st) and realised gain/loss when a USD payment settles a USD invoice, with hand-computed figures.

Rates (1 USD = … CNY): 7.00 from 1 Oct, 7.10 from 10 Oct, 7.20 from 31 Oct, 7.15 from 15 Nov, 7.25 from
30 Nov.
"""

from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import StaffRole
from billing.fx.models import FxRealisation, FxRevaluation
from billing.fx.rates import FxRatesMissing
from billing.fx.realised import fx_realised_post
from billing.fx.revaluation import fx_revaluation_run
from billing.fx.tasks import fx_revaluation_task
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind, JournalTransaction
from billing.ledger.services import credit, debit, transaction_post
from billing.receivables.services import payment_record
from catalog.models import Vendor
from catalog.services.fx import fx_rate_set
from tests.billing.factories import staff, topup
from tests.billing.invoicing.factories import issued_invoice
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

OCT_END, NOV_END = date(2026, 10, 31), date(2026, 11, 30)


@pytest.fixture(autouse=True)
def usd_rates(settings):
    settings.BASE_CURRENCY = "CNY"
    for on, rate in (
        (date(2026, 10, 1), "7.00"),
        (date(2026, 10, 10), "7.10"),
        (OCT_END, "7.20"),
        (date(2026, 11, 15), "7.15"),
        (NOV_END, "7.25"),
    ):
        fx_rate_set(base="USD", quote="CNY", on=on, rate=Decimal(rate))


@pytest.fixture
def finance():
    return staff(StaffRole.FINANCE)


def _entries(txn) -> dict[str, Decimal]:
    return {e.account.kind: e.amount for e in txn.entries.select_related("account")}


def _usd_invoice(amount="1000.00", on=date(2026, 10, 10)):
    customer = CustomerFactory(name="Globex US")
    return issued_invoice(customer, amount, "USD", issue_date=on)


def test_a_usd_receivable_is_revalued_at_month_end_and_reversed_on_the_1st():
    # given a USD 1,000.00 receivable booked on 10 Oct at 7.10 (carried 7,100.00 CNY)
    invoice = _usd_invoice()

    # when October is revalued at 7.20 (worth 7,200.00 CNY)
    [row] = fx_revaluation_run(month_end=OCT_END)

    # then the unrealised gain is 100.00 CNY, dated 31 Oct, and reversed on 1 Nov
    assert (row.balance, row.rate, row.carried_base, row.difference) == (
        Decimal("1000"),
        Decimal("7.20"),
        Decimal("7100"),
        Decimal("100.00"),
    )
    assert row.account.customer == invoice.customer
    posted, reversal = row.journal_transaction, row.reversal_transaction
    assert posted.effective_date == OCT_END
    assert _entries(posted) == {
        AccountKind.FX_REVALUATION_RECEIVABLE: Decimal("100.00"),
        AccountKind.FX_UNREALISED: Decimal("-100.00"),
    }
    assert {e.currency for e in posted.entries.all()} == {"CNY"}
    assert reversal.reverses == posted
    assert reversal.effective_date == date(2026, 11, 1)
    assert _entries(reversal) == {
        AccountKind.FX_REVALUATION_RECEIVABLE: Decimal("-100.00"),
        AccountKind.FX_UNREALISED: Decimal("100.00"),
    }
    # and running the month again posts nothing twice
    assert fx_revaluation_run(month_end=OCT_END) == []
    assert JournalTransaction.objects.filter(kind="fx.revaluation").count() == 1


def test_paid_at_another_rate_realises_the_difference_and_leaves_nothing_to_revalue(finance):
    # given the receivable revalued at the end of October
    invoice = _usd_invoice()
    fx_revaluation_run(month_end=OCT_END)

    # when the customer pays USD 1,000.00 on 15 Nov, at 7.15
    payment_record(
        customer=invoice.customer,
        amount=Decimal("1000.00"),
        currency="USD",
        received_on=date(2026, 11, 15),
        reference="WIRE-1115",
        actor=finance,
        idempotency_key="wire-1115",
    )
    [realised] = fx_realised_post()

    # then 50.00 CNY of gain is realised (1,000 × (7.15 − 7.10)), dated the payment
    assert (realised.invoice_rate, realised.payment_rate, realised.base_amount) == (
        Decimal("7.10"),
        Decimal("7.15"),
        Decimal("50.00"),
    )
    assert realised.effective_date == date(2026, 11, 15)
    assert _entries(realised.journal_transaction) == {
        AccountKind.FX_REVALUATION_RECEIVABLE: Decimal("50.00"),
        AccountKind.FX_GAIN_LOSS: Decimal("-50.00"),
    }
    # and once per allocation
    assert fx_realised_post() == []
    # and at the end of November the settled receivable carries 0 CNY: nothing to revalue
    assert fx_revaluation_run(month_end=NOV_END) == []
    adjustment = account_get(kind=AccountKind.FX_REVALUATION_RECEIVABLE, currency="CNY")
    assert adjustment.balance == Decimal("50.00")  # the realised part; October's revaluation was reversed


def test_a_released_allocation_gives_its_realised_gain_back(finance):
    from billing.receivables.allocations import allocation_release

    invoice = _usd_invoice()
    payment = payment_record(
        customer=invoice.customer,
        amount=Decimal("400.00"),
        currency="USD",
        received_on=date(2026, 11, 15),
        reference="WIRE-PART",
        actor=finance,
        idempotency_key="wire-part",
    )
    fx_realised_post()
    allocation = payment.allocations.get()
    allocation_release(allocation=allocation, at=date(2026, 11, 20), reason="Misapplied", actor=finance)
    [released] = fx_realised_post()
    # 400 × (7.15 − 7.10) = 20.00 realised, then given back on the release's date
    assert released.base_amount == Decimal("-20.00")
    assert released.effective_date == date(2026, 11, 20)
    assert _entries(released.journal_transaction) == {
        AccountKind.FX_REVALUATION_RECEIVABLE: Decimal("-20.00"),
        AccountKind.FX_GAIN_LOSS: Decimal("20.00"),
    }


def test_a_usd_wallet_deposit_is_revalued_as_a_liability(monkeypatch):
    # given USD 500.00 topped up on 5 Oct at 7.00 (a deposit carried at 3,500.00 CNY)
    customer = CustomerFactory(name="Prepaid US")
    with monkeypatch.context() as patch:
        patch.setattr(timezone, "localdate", lambda *args, **kwargs: date(2026, 10, 5))
        topup(customer, "500.00", "usd-topup", currency="USD")

    # when October is revalued at 7.20, the deposit is worth 3,600.00 CNY: we owe 100.00 CNY more
    [row] = fx_revaluation_run(month_end=OCT_END)

    # then an unrealised loss of 100.00 CNY, against the deposits' revaluation account
    assert row.account.kind == AccountKind.WALLET_PAID
    assert (row.balance, row.carried_base, row.difference) == (
        Decimal("-500"),
        Decimal("-3500"),
        Decimal("-100.00"),
    )
    assert _entries(row.journal_transaction) == {
        AccountKind.FX_REVALUATION_DEPOSITS: Decimal("-100.00"),
        AccountKind.FX_UNREALISED: Decimal("100.00"),
    }
    assert row.reversal_transaction.effective_date == date(2026, 11, 1)


def test_a_usd_payable_is_revalued_too():
    # given USD 2,000.00 owed to a vendor since 10 Oct at 7.10 (carried 14,200.00 CNY)
    vendor = Vendor.objects.create(name="OpenAI", slug="openai")
    payable = account_get(kind=AccountKind.PAYABLE, currency="USD", vendor=vendor)
    cost = account_get(kind=AccountKind.COST_OF_TOKENS, currency="USD")
    transaction_post(
        idempotency_key="bill-oct",
        kind="upstream.bill",
        lines=[debit(cost, Decimal("2000.00"), "USD"), credit(payable, Decimal("2000.00"), "USD")],
        effective_date=date(2026, 10, 10),
    )
    # when revalued at 7.20: owed 14,400.00 CNY
    [row] = fx_revaluation_run(month_end=OCT_END)
    # then an unrealised loss of 200.00 CNY; the expense account is not revalued
    assert row.account == payable
    assert row.difference == Decimal("-200.00")
    assert _entries(row.journal_transaction) == {
        AccountKind.FX_REVALUATION_PAYABLE: Decimal("-200.00"),
        AccountKind.FX_UNREALISED: Decimal("200.00"),
    }


def test_a_missing_rate_is_refused_listing_the_pairs_and_nothing_is_posted():
    # given a USD receivable (rates known) and a EUR one (no EUR rate at all)
    _usd_invoice()
    customer = CustomerFactory(name="Euro GmbH")
    issued_invoice(customer, "300.00", "EUR", issue_date=date(2026, 10, 12))

    with pytest.raises(FxRatesMissing) as refused:
        fx_revaluation_run(month_end=OCT_END)

    message = str(refused.value)
    assert "EUR→CNY 2026-10-12" in message
    assert "EUR→CNY 2026-10-31" in message
    assert "USD" not in message
    assert "nothing was posted" in message
    assert not FxRevaluation.objects.exists()
    assert not JournalTransaction.objects.filter(kind="fx.revaluation").exists()


def test_a_missing_rate_refuses_realisation_too(finance):
    customer = CustomerFactory(name="Euro GmbH")
    invoice = issued_invoice(customer, "300.00", "EUR", issue_date=date(2026, 10, 12))
    payment_record(
        customer=invoice.customer,
        amount=Decimal("300.00"),
        currency="EUR",
        received_on=date(2026, 11, 2),
        reference="SEPA-1",
        actor=finance,
        idempotency_key="sepa-1",
    )
    with pytest.raises(FxRatesMissing, match="EUR→CNY 2026-10-12, EUR→CNY 2026-11-02"):
        fx_realised_post()
    assert not FxRealisation.objects.exists()


def test_a_month_is_revalued_only_after_it_ends():
    with pytest.raises(ValidationError, match="not a month end"):
        fx_revaluation_run(month_end=date(2026, 10, 30))
    with pytest.raises(ValidationError, match="only after it has ended"):
        fx_revaluation_run(month_end=date(2026, 12, 31))


def test_the_month_end_task_revalues_the_month_that_ended(monkeypatch, finance):
    _usd_invoice()
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: date(2026, 11, 1))
    assert fx_revaluation_task.delay().get() == 1
    assert FxRevaluation.objects.get().month_end == OCT_END


def test_the_command_revalues_a_month_and_names_missing_rates(finance):
    _usd_invoice()
    out = StringIO()
    call_command("fx_revalue", "--month", "2026-10", stdout=out)
    assert out.getvalue().strip() == "2026-10: 0 allocation(s) realised, 1 account(s) revalued."
    issued_invoice(CustomerFactory(name="Euro GmbH"), "300.00", "EUR", issue_date=date(2026, 11, 3))
    with pytest.raises(CommandError, match="EUR→CNY 2026-11-03, EUR→CNY 2026-11-30"):
        call_command("fx_revalue", "--month", "2026-11")
    with pytest.raises(CommandError, match="--month"):
        call_command("fx_revalue", "--month", "November")
