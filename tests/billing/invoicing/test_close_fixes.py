"""Regressions from the period-close review: mode switches, out-of-order closes, negative totals,
monthly ↔ quarterly switches and late one-off charges."""

from datetime import UTC, date, datetime
from decimal import Decimal
from unittest import mock

import pytest
from django.core.management import CommandError, call_command

from billing.allowances.models import Subscription
from billing.invoicing.close.measure import usage_billed
from billing.invoicing.close.services import CloseError, close_period
from billing.invoicing.models import Invoice, InvoiceLine, ServiceCharge
from billing.invoicing.periods import period_parse
from billing.invoicing.services import InvoiceError, LineDraft, invoice_create, invoice_issue
from billing.invoicing.tasks import period_close_task
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind
from billing.terms.models import BillingTerms
from billing.terms.services import billing_terms_update
from billing.terms.spans import spans_of
from billing.usage.models import UsageDaily
from billing.wallets.credits import wallet_credit
from catalog.models import SubscriptionPlan
from tests.billing.invoicing.conftest import use
from tests.billing.usage.factories import customer_make

pytestmark = pytest.mark.django_db

ONE_USE = Decimal("5.234558")  # what one `use()` event costs at the test model's prices


def _fund(customer):
    wallet_credit(
        customer=customer,
        currency="CNY",
        amount=Decimal("1000"),
        bucket="paid",
        idempotency_key=f"fund-{customer.pk}",
        source_account=account_get(kind=AccountKind.CASH_BANK, currency="CNY"),
        kind="wallet.topup.bank",
        memo="t",
    )


def _switch(customer, mode, at):
    with mock.patch("billing.terms.services.timezone.now", return_value=at):
        billing_terms_update(customer=customer, values={"mode": mode})


def test_prepaid_to_monthly_bills_only_usage_since_the_switch(source, model):
    c = customer_make(key="key-p")
    _fund(c)
    use(source, "key-p", datetime(2026, 9, 3, 2, tzinfo=UTC))  # prepaid
    close_period("2026-09", issue_date=date(2026, 10, 1))
    use(source, "key-p", datetime(2026, 10, 2, 9, tzinfo=UTC))  # 17:00 Shanghai, still prepaid
    _switch(c, "monthly", datetime(2026, 10, 2, 10, 30, tzinfo=UTC))
    assert spans_of([c.pk])[c.pk].credit_intervals() == [(datetime(2026, 10, 2, 10, 30, tzinfo=UTC), None)]
    use(source, "key-p", datetime(2026, 10, 2, 11, tzinfo=UTC))  # same day, after the switch
    use(source, "key-p", datetime(2026, 10, 3, 2, tzinfo=UTC))
    [inv] = close_period("2026-10", issue_date=date(2026, 11, 1)).invoices
    assert inv.lines.get().amount_exact == 2 * ONE_USE


def test_monthly_to_prepaid_still_invoices_credit_usage(source, model):
    c = customer_make(key="key-m", mode="monthly")
    _fund(c)
    use(source, "key-m", datetime(2026, 10, 3, 2, tzinfo=UTC))  # on credit
    _switch(c, "prepaid", datetime(2026, 10, 10, tzinfo=UTC))
    assert spans_of([c.pk])[c.pk].credit_intervals() == [(None, datetime(2026, 10, 10, tzinfo=UTC))]
    use(source, "key-m", datetime(2026, 10, 12, 2, tzinfo=UTC))  # prepaid, paid from the wallet
    [inv] = close_period("2026-10", issue_date=date(2026, 11, 1)).invoices
    assert inv.customer == c
    assert inv.lines.get().amount_exact == ONE_USE
    assert close_period("2026-11", issue_date=date(2026, 12, 1)).invoices == []


def test_earlier_period_cannot_be_closed_after_a_later_one(source, model):
    c = customer_make(key="key-m", mode="monthly")
    use(source, "key-m", datetime(2026, 8, 3, 2, tzinfo=UTC))
    close_period("2026-08", issue_date=date(2026, 9, 1))
    use(source, "key-m", datetime(2026, 10, 3, 2, tzinfo=UTC))
    close_period("2026-10", issue_date=date(2026, 11, 1))
    with pytest.raises(CloseError, match="2026-10 is already closed"):
        close_period("2026-09", issue_date=date(2026, 11, 2))
    with pytest.raises(CommandError, match="already closed"):
        call_command("close_period", "--period", "2026-09", "--issue-date", "2026-11-02")
    assert period_close_task(period="2026-09")[0]["error"]
    # The "already billed" subtraction never counts invoices of later periods.
    assert usage_billed([c.pk], period_parse("2026-09")) != usage_billed([c.pk], period_parse("2026-10"))
    assert sum(v["amount"] for v in usage_billed([c.pk], period_parse("2026-09")).values()) == ONE_USE
    assert Invoice.objects.filter(customer=c, total__lt=0).count() == 0


def test_open_period_cannot_be_closed(model):
    with pytest.raises(CloseError, match="after it has ended"):
        close_period("2026-11", issue_date=date(2026, 11, 30))
    with pytest.raises(CommandError, match="after it has ended"):
        call_command("close_period", "--period", "2026-11", "--issue-date", "2026-11-15")


def test_negative_invoice_refused_on_issue(model):
    c = customer_make(key="key-m", mode="monthly")
    draft = invoice_create(
        customer=c,
        lines=[
            LineDraft(kind=InvoiceLine.Kind.ADJUSTMENT, description="goodwill", amount_exact=Decimal("-10"))
        ],
    )
    with pytest.raises(InvoiceError, match="cannot be negative"):
        invoice_issue(invoice=draft)
    draft.refresh_from_db()
    assert draft.status == Invoice.Status.DRAFT and not draft.number


# The re-rating is simulated by writing the rollup: unbilled and the events no longer match it.
@pytest.mark.corrupts_billing("rewrites UsageDaily by hand")
def test_net_credit_is_not_invoiced_and_reduces_the_next_invoice(source, model):
    c = customer_make(key="key-m", mode="monthly")
    use(source, "key-m", datetime(2026, 10, 3, 2, tzinfo=UTC))
    close_period("2026-10", issue_date=date(2026, 11, 1))
    # Re-rating lowers October's usage to 1.00 after it was billed; no November usage.
    UsageDaily.objects.filter(customer=c).update(sell_amount=Decimal("1"))
    assert close_period("2026-11", issue_date=date(2026, 12, 1)).invoices == []
    use(source, "key-m", datetime(2026, 12, 3, 2, tzinfo=UTC))
    [dec] = close_period("2026-12", issue_date=date(2027, 1, 1)).invoices
    assert dec.lines.get().amount_exact == Decimal("1") + ONE_USE - ONE_USE
    assert not Invoice.objects.filter(total__lt=0).exists()


def _plan_sub(c):
    plan = SubscriptionPlan.objects.create(name="P", monthly_fee=Decimal("100"), allowance=0, currency="CNY")
    return Subscription.objects.create(customer=c, plan=plan, starts_on=date(2026, 7, 1))


def _billed(c):
    return sorted(ln.source_key for ln in InvoiceLine.objects.filter(invoice__customer=c))


def test_monthly_to_quarterly_bills_each_month_once(source, model):
    c = customer_make(key="key-m", mode="monthly")
    sub = _plan_sub(c)
    charge = ServiceCharge.objects.create(
        customer=c,
        description="ops",
        amount=Decimal("10"),
        currency="CNY",
        recurrence="monthly",
        starts_on=date(2026, 7, 1),
    )
    close_period("2026-07", issue_date=date(2026, 8, 1))
    close_period("2026-08", issue_date=date(2026, 9, 1))
    BillingTerms.objects.filter(customer=c).update(mode="quarterly")
    close_period("2026-Q3", issue_date=date(2026, 10, 1))
    total = sum(ln.amount for ln in InvoiceLine.objects.filter(invoice__customer=c))
    assert total == Decimal("330")
    assert f"subscription:{sub.pk}:2026-09" in _billed(c) and f"service:{charge.pk}:2026-09" in _billed(c)


def test_quarterly_to_monthly_bills_each_month_once(source, model):
    c = customer_make(key="key-q", mode="quarterly")
    sub = _plan_sub(c)
    quarterly = ServiceCharge.objects.create(
        customer=c,
        description="q",
        amount=Decimal("7"),
        currency="CNY",
        recurrence="quarterly",
        starts_on=date(2026, 8, 15),
    )
    close_period("2026-Q3", issue_date=date(2026, 10, 1))
    assert [f"subscription:{sub.pk}:2026-0{m}" for m in (7, 8, 9)] == [
        k for k in _billed(c) if k.startswith("subscription")
    ]
    # A quarterly charge starting in the quarter's second month is still billed for that quarter.
    assert f"service:{quarterly.pk}:2026-Q3" in _billed(c)
    BillingTerms.objects.filter(customer=c).update(mode="monthly")
    close_period("2026-10", issue_date=date(2026, 11, 1))
    close_period("2026-11", issue_date=date(2026, 12, 1))
    keys = _billed(c)
    assert len(keys) == len(set(keys))
    assert f"subscription:{sub.pk}:2026-10" in keys and f"service:{quarterly.pk}:2026-Q4" in keys
    assert sum(ln.amount for ln in InvoiceLine.objects.filter(invoice__customer=c)) == Decimal("514")


def test_one_off_dated_in_a_closed_period_lands_on_the_next_invoice(source, model):
    c = customer_make(key="key-m", mode="monthly")
    close_period("2026-10", issue_date=date(2026, 11, 1))
    charge = ServiceCharge.objects.create(
        customer=c, description="x", amount=Decimal("500"), currency="CNY", starts_on=date(2026, 10, 20)
    )
    [nov] = close_period("2026-11", issue_date=date(2026, 12, 1)).invoices
    assert [ln.source_key for ln in nov.lines.all()] == [f"service:{charge.pk}"]
    assert close_period("2026-12", issue_date=date(2027, 1, 1)).invoices == []
