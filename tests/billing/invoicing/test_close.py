"""Period close: invoices from the rollups, operator-time-zone boundaries, idempotency, late usage."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from billing.allowances.models import PackPurchase, Subscription
from billing.invoicing.close.services import close_period
from billing.invoicing.models import Invoice, InvoiceLine, PeriodClose, ServiceCharge, UsageStatement
from billing.invoicing.services import invoice_issue
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind
from billing.terms.models import BillingTerms
from billing.usage.models import UsageDaily
from billing.wallets.credits import wallet_credit
from catalog.models import Pack, SubscriptionPlan
from tests.billing.invoicing.conftest import use
from tests.billing.usage.factories import customer_make

pytestmark = pytest.mark.django_db

# 1,234,567 prompt × 2/M + 345,678 completion × 8/M = 2.469134 + 2.765424 = 5.234558 CNY per event.
EVENT = Decimal("5.234558")
ISSUE = date(2026, 11, 1)


def bal(kind, customer=None, currency="CNY"):
    owner = {"customer": customer} if customer else {}
    return account_get(kind=kind, currency=currency, **owner).balance


@pytest.fixture
def monthly(model):
    return customer_make(
        key="key-m",
        mode=BillingTerms.Mode.MONTHLY,
        payment_term="net",
        payment_days=30,
        tax_rate=Decimal("0.06"),
    )


def test_month_close_bills_usage_from_rollups_and_posts(source, monthly):
    use(source, "key-m", datetime(2026, 10, 3, 2, tzinfo=UTC))
    use(source, "key-m", datetime(2026, 10, 20, 2, tzinfo=UTC))
    assert bal(AccountKind.UNBILLED_RECEIVABLE, monthly) == 2 * EVENT

    result = close_period("2026-10", issue_date=ISSUE)

    [invoice] = result.invoices
    invoice.refresh_from_db()
    [line] = invoice.lines.all()
    assert line.kind == "usage" and line.description == "deepseek-chat"
    assert line.amount_exact == 2 * EVENT and line.amount == Decimal("10.47")
    assert line.details["tokens"]["input"] == 2 * 1_234_567
    assert line.details["tokens"]["output"] == 2 * 345_678
    assert line.details["unit_prices"]["input"] == "2" and line.details["unit_prices"]["output"] == "8"
    assert line.details["prices_varied"] is False
    assert line.tax_amount == Decimal("0.63")
    assert (invoice.status, invoice.number, invoice.total) == ("issued", "INV-2026-000001", Decimal("11.10"))
    assert invoice.due_date == ISSUE + timedelta(days=30)
    assert invoice.close_key == f"2026-10:{monthly.pk}:CNY" and invoice.language == monthly.language
    # The receivable is the invoice total; unbilled is relieved to the last digit; the residual
    # (10.47 rounded from 10.469116: we rounded up 0.000884) is a credit to rounding.
    assert bal(AccountKind.RECEIVABLE, monthly) == Decimal("11.10")
    assert bal(AccountKind.UNBILLED_RECEIVABLE, monthly) == 0
    assert bal(AccountKind.ROUNDING) == Decimal("-0.000884")
    assert bal(AccountKind.TAX_PAYABLE) == Decimal("-0.63")
    record = PeriodClose.objects.get()
    assert (record.state, record.invoices_created, record.period_end) == ("done", 1, date(2026, 10, 31))


def test_rerunning_a_close_creates_nothing(source, monthly):
    use(source, "key-m", datetime(2026, 10, 3, 2, tzinfo=UTC))
    close_period("2026-10", issue_date=ISSUE)
    again = close_period("2026-10", issue_date=ISSUE)
    assert again.invoices == []
    assert Invoice.objects.count() == 1 and InvoiceLine.objects.count() == 1
    assert bal(AccountKind.RECEIVABLE, monthly) == Decimal("5.54")
    assert PeriodClose.objects.filter(state="done").count() == 2


def test_leap_day_boundaries_in_shanghai(settings, source, monthly):
    settings.TIME_ZONE = "Asia/Shanghai"
    # 23:30 on 29 Feb 2028 in Shanghai (15:30 UTC): February.
    use(source, "key-m", datetime(2028, 2, 29, 15, 30, tzinfo=UTC))
    # 00:10 on 1 March 2028 in Shanghai, still 29 Feb in UTC: March.
    use(source, "key-m", datetime(2028, 2, 29, 16, 10, tzinfo=UTC), prompt=1_000_000, completion=0)
    assert set(UsageDaily.objects.values_list("day", flat=True)) == {date(2028, 2, 29), date(2028, 3, 1)}

    feb = close_period("2028-02", issue_date=date(2028, 3, 1)).invoices
    mar = close_period("2028-03", issue_date=date(2028, 4, 1)).invoices

    assert [i.period_end for i in feb] == [date(2028, 2, 29)]
    assert feb[0].lines.get().amount_exact == EVENT
    assert mar[0].lines.get().amount_exact == Decimal("2")
    assert [i.number for i in feb + mar] == ["INV-2028-000001", "INV-2028-000002"]


def test_quarter_close_bills_quarterly_customers_only(settings, source, model, monthly):
    settings.TIME_ZONE = "Asia/Shanghai"
    quarterly = customer_make(
        key="key-q", mode=BillingTerms.Mode.QUARTERLY, payment_term="eom", payment_days=15
    )
    use(source, "key-q", datetime(2026, 7, 1, 0, 0, tzinfo=UTC))  # 1 July 08:00 local
    use(source, "key-q", datetime(2026, 9, 30, 15, 59, tzinfo=UTC))  # 30 Sep 23:59 local: Q3
    use(source, "key-q", datetime(2026, 9, 30, 16, 1, tzinfo=UTC))  # 1 Oct 00:01 local: Q4
    use(source, "key-m", datetime(2026, 9, 10, tzinfo=UTC))

    september = close_period("2026-09", issue_date=date(2026, 10, 1)).invoices
    q3 = close_period("2026-Q3", issue_date=date(2026, 10, 1)).invoices

    assert [i.customer for i in september] == [monthly]
    [invoice] = q3
    assert invoice.customer == quarterly
    assert (invoice.period, invoice.period_start, invoice.period_end) == (
        "2026-Q3",
        date(2026, 7, 1),
        date(2026, 9, 30),
    )
    assert invoice.lines.get().amount_exact == 2 * EVENT
    assert invoice.due_date == date(2026, 11, 15)  # end of October + 15


def test_late_usage_is_billed_by_the_next_close(source, monthly):
    use(source, "key-m", datetime(2026, 10, 3, 2, tzinfo=UTC))
    close_period("2026-10", issue_date=ISSUE)
    # An October event delivered after October closed, and a November one.
    use(source, "key-m", datetime(2026, 10, 30, 2, tzinfo=UTC), prompt=1_000_000, completion=0)
    use(source, "key-m", datetime(2026, 11, 5, 2, tzinfo=UTC))
    assert close_period("2026-10", issue_date=ISSUE).invoices == []

    [november] = close_period("2026-11", issue_date=date(2026, 12, 1)).invoices

    line = november.lines.get()
    assert line.amount_exact == EVENT + Decimal("2")
    assert line.details["tokens"]["input"] == 1_234_567 + 1_000_000
    assert line.details["previously_billed"] == str(EVENT.quantize(Decimal("1e-12")))
    assert bal(AccountKind.UNBILLED_RECEIVABLE, monthly) == 0
    assert bal(AccountKind.RECEIVABLE, monthly) == Decimal("5.54") + november.total
    # And December has nothing left to bill.
    assert close_period("2026-12", issue_date=date(2027, 1, 1)).invoices == []


def test_review_customers_keep_drafts(source, model):
    customer = customer_make(key="key-r", mode=BillingTerms.Mode.MONTHLY, review_invoices=True)
    use(source, "key-r", datetime(2026, 10, 3, 2, tzinfo=UTC))

    [invoice] = close_period("2026-10", issue_date=ISSUE).invoices

    invoice.refresh_from_db()
    assert (invoice.status, invoice.number, invoice.journal_transaction) == ("draft", None, None)
    assert bal(AccountKind.RECEIVABLE, customer) == 0
    issued = invoice_issue(invoice=invoice, issue_date=ISSUE)
    assert issued.number == "INV-2026-000001"
    assert bal(AccountKind.UNBILLED_RECEIVABLE, customer) == 0


def test_prepaid_customers_get_statements_not_invoices(source, model):
    prepaid = customer_make(key="key-p")
    wallet_credit(
        customer=prepaid,
        currency="CNY",
        amount=Decimal("100"),
        bucket="paid",
        idempotency_key="topup",
        source_account=account_get(kind=AccountKind.CASH_BANK, currency="CNY"),
        kind="wallet.topup.bank",
        memo="test",
    )
    use(source, "key-p", datetime(2026, 10, 3, 2, tzinfo=UTC))
    use(source, "key-p", datetime(2026, 11, 3, 2, tzinfo=UTC))

    result = close_period("2026-10", issue_date=ISSUE)

    assert result.invoices == [] and not Invoice.objects.exists()
    statement = UsageStatement.objects.get()
    assert (statement.customer, statement.period, statement.total) == (prepaid, "2026-10", Decimal("5.23"))
    assert statement.lines[0]["model"] == "deepseek-chat"
    assert statement.lines[0]["tokens"]["output"] == 345_678
    close_period("2026-10", issue_date=ISSUE)
    assert UsageStatement.objects.count() == 1
    # Quarter closes make no statements.
    assert close_period("2026-Q4", issue_date=date(2027, 1, 1)).statements == []


def test_subscriptions_services_and_packs(source, model, monthly):
    plan = SubscriptionPlan.objects.create(
        name="Coding plan", monthly_fee=Decimal("199"), allowance=0, currency="CNY"
    )
    # Everything starts in October: a close bills every month due since an item began (cumulatively).
    Subscription.objects.create(customer=monthly, plan=plan, starts_on=date(2026, 10, 15))
    one_off = ServiceCharge.objects.create(
        customer=monthly,
        description="Prompt workshop",
        amount=Decimal("1000"),
        currency="CNY",
        starts_on=date(2026, 10, 9),
    )
    ServiceCharge.objects.create(
        customer=monthly,
        description="Agent ops",
        amount=Decimal("300"),
        currency="CNY",
        recurrence="monthly",
        starts_on=date(2026, 10, 1),
        ends_on=date(2026, 11, 30),
    )
    ServiceCharge.objects.create(
        customer=monthly,
        description="Model review",
        amount=Decimal("900"),
        currency="CNY",
        recurrence="quarterly",
        starts_on=date(2026, 10, 1),
    )
    pack = Pack.objects.create(
        name="10M tokens",
        allowance=Decimal("10000000"),
        price=Decimal("50"),
        validity_days=30,
        currency="CNY",
    )
    purchase = PackPurchase.objects.create(
        customer=monthly,
        pack=pack,
        purchased_at=datetime(2026, 10, 12, tzinfo=UTC),
        expires_at=datetime(2026, 11, 12, tzinfo=UTC),
        price=Decimal("50"),
        currency="CNY",
        idempotency_key="p1",
    )
    [october] = close_period("2026-10", issue_date=ISSUE).invoices
    [november] = close_period("2026-11", issue_date=date(2026, 12, 1)).invoices
    december = close_period("2026-12", issue_date=date(2027, 1, 1)).invoices

    oct_lines = {ln.source_key: ln.amount for ln in october.lines.all()}
    assert oct_lines == {
        f"subscription:{Subscription.objects.get().pk}:2026-10": Decimal("199.00"),
        f"service:{one_off.pk}": Decimal("1000.00"),
        f"service:{one_off.pk + 1}:2026-10": Decimal("300.00"),
        f"service:{one_off.pk + 2}:2026-Q4": Decimal("900.00"),
        f"pack:{purchase.pk}": Decimal("50.00"),
    }
    nov_keys = sorted(ln.description for ln in november.lines.all())
    assert nov_keys == ["Agent ops", "Coding plan (2026-11)"]  # no second one-off, quarterly or pack
    assert sorted(ln.description for ln in december[0].lines.all()) == ["Coding plan (2026-12)"]
    assert bal(AccountKind.REVENUE_SERVICES) == -Decimal("2500")
    # Three subscription months and the pack (a token allowance: its price is the revenue for its tokens).
    assert bal(AccountKind.REVENUE_SUBSCRIPTIONS) == -Decimal("647")
    assert bal(AccountKind.UNBILLED_RECEIVABLE, monthly) == 0


def test_command_prints_and_refuses_bad_periods(source, monthly):
    use(source, "key-m", datetime(2026, 10, 3, 2, tzinfo=UTC))
    out = StringIO()
    call_command("close_period", "--period", "2026-10", "--issue-date", "2026-11-01", stdout=out)
    assert "1 invoices (1 issued" in out.getvalue() and "INV-2026-000001" in out.getvalue()
    for bad in ("2026-13", "2026-Q7", "last month"):
        with pytest.raises(CommandError, match="--period"):
            call_command("close_period", "--period", bad)
    with pytest.raises(CommandError, match="--issue-date"):
        call_command("close_period", "--period", "2026-10", "--issue-date", "1 Nov")


def test_task_closes_month_and_quarter_that_ended(settings, source, model, monthly):
    from billing.invoicing.tasks import period_close_task

    quarterly = customer_make(key="key-q", mode=BillingTerms.Mode.QUARTERLY)
    use(source, "key-q", datetime(2026, 8, 1, tzinfo=UTC))
    use(source, "key-m", datetime(2026, 9, 1, tzinfo=UTC))
    # 00:15 on 1 October in Shanghai.
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(timezone, "now", lambda: datetime(2026, 9, 30, 16, 15, tzinfo=UTC))
        done = period_close_task()
    assert [d["period"] for d in done] == ["2026-09", "2026-Q3"]
    assert set(Invoice.objects.values_list("customer", flat=True)) == {monthly.pk, quarterly.pk}
    schedule = settings.CELERY_BEAT_SCHEDULE["period-close"]["schedule"]
    assert schedule.day_of_month == {1} and settings.CELERY_TIMEZONE == settings.TIME_ZONE


def test_voided_invoices_draft_or_issued_are_billed_again_by_the_next_close(source, model):
    from billing.receivables.credit_notes import invoice_void

    reviewed = customer_make(key="key-r", mode=BillingTerms.Mode.MONTHLY, review_invoices=True)
    issued = customer_make(key="key-i", mode=BillingTerms.Mode.MONTHLY)
    use(source, "key-r", datetime(2026, 10, 3, 2, tzinfo=UTC))
    use(source, "key-i", datetime(2026, 10, 3, 2, tzinfo=UTC))
    draft, posted = sorted(close_period("2026-10", issue_date=ISSUE).invoices, key=lambda i: i.customer_id)
    invoice_void(invoice=draft, reason="wrong customer contact", actor=None)
    invoice_void(invoice=posted, reason="disputed, billed again", actor=None)
    revenue = bal(AccountKind.REVENUE_USAGE)

    november = close_period("2026-11", issue_date=date(2026, 12, 1)).invoices

    # Both voids bill the usage again. The issued one had relieved unbilled and its credit note reversed
    # usage revenue: the re-bill credits revenue back, and unbilled stays at zero (not −5.23).
    assert [(i.customer, i.lines.get().amount_exact) for i in november] == [
        (reviewed, EVENT),
        (issued, EVENT),
    ]
    rebill = november[1].lines.get()
    assert rebill.details["rebilled"] == str(EVENT.quantize(Decimal("1e-12")))
    assert bal(AccountKind.UNBILLED_RECEIVABLE, issued) == 0
    assert bal(AccountKind.RECEIVABLE, issued) == Decimal("5.23")
    # Revenue gets back what the credit note took (5.23); the rounding was booked by the first issue.
    assert bal(AccountKind.REVENUE_USAGE) == revenue - Decimal("5.23")
    # Once billed again it is billed: the next close makes nothing.
    assert close_period("2026-12", issue_date=date(2027, 1, 1)).invoices == []


def test_a_failed_close_is_recorded_and_can_be_rerun(source, monthly, monkeypatch):
    from billing.invoicing.close import services as close_module

    use(source, "key-m", datetime(2026, 10, 3, 2, tzinfo=UTC))
    monkeypatch.setattr(
        close_module, "numbers_take", lambda *a: (_ for _ in ()).throw(RuntimeError("db gone"))
    )
    with pytest.raises(RuntimeError):
        close_period("2026-10", issue_date=ISSUE)
    failed = PeriodClose.objects.get()
    assert (failed.state, failed.error) == ("failed", "RuntimeError: db gone")
    assert not Invoice.objects.exists()  # the chunk rolled back whole
    monkeypatch.undo()
    assert len(close_period("2026-10", issue_date=ISSUE).invoices) == 1


def test_odd_characters_survive_the_copy(source, monthly):
    from catalog.models import SellPlan

    SellPlan.objects.filter(name="standard-CNY").update(name='Std "A" \\ plan\twith tab')
    use(source, "key-m", datetime(2026, 10, 3, 2, tzinfo=UTC))
    [invoice] = close_period("2026-10", issue_date=ISSUE).invoices
    line = invoice.lines.get()
    assert line.details["plan"] == 'Std "A" \\ plan\twith tab'
    assert line.unit_price is None and line.service_charge_id is None and line.tax_rate == Decimal("0.06")
