"""Subscription months, service charges and packs are billed cumulatively, like usage: whatever a close
could not bill (the customer was on another cadence, or its invoice came to zero or less) lands on a
later invoice, once; what the wallet pays never does."""

from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from accounts.models import StaffRole
from billing.allowances.charges import charges_due
from billing.allowances.models import AllowanceCharge, PackPurchase
from billing.allowances.purchases import subscription_start
from billing.invoicing.close.services import close_period
from billing.invoicing.models import Invoice, InvoiceLine, ServiceCharge
from billing.receivables.credit_notes import invoice_void
from billing.terms.models import BillingTerms
from billing.terms.spans import terms_span_start
from billing.usage.corrections import usage_correct
from billing.usage.services import usage_batch_ingest
from catalog.models import BookKind, PriceTier, SubscriptionPlan
from tests.billing.allowances.helpers import clock, customer_on, deepseek_pack, fund, lite_plan, local, switch
from tests.billing.factories import staff
from tests.billing.usage.factories import customer_make, event

pytestmark = pytest.mark.django_db


def _invoiced(customer) -> list[str]:
    """Source keys of the customer's non-usage invoice lines (a key twice would be a double charge)."""
    return sorted(
        InvoiceLine.objects.filter(invoice__customer=customer)
        .exclude(kind=InvoiceLine.Kind.USAGE)
        .values_list("source_key", flat=True)
    )


def _wallet(customer) -> set[str]:
    return set(AllowanceCharge.objects.filter(customer=customer).values_list("source_key", flat=True))


def _pack_on_credit(customer, at: datetime) -> PackPurchase:
    pack = deepseek_pack()
    return PackPurchase.objects.create(
        customer=customer,
        pack=pack,
        purchased_at=at,
        expires_at=datetime(2027, 3, 1, tzinfo=UTC),
        price=pack.price,
        currency="CNY",
        idempotency_key=f"pack-{customer.pk}",
    )


@pytest.mark.parametrize("new_mode", ["prepaid", "monthly"])
def test_quarterly_customer_switching_mid_quarter_pays_the_quarters_earlier_months(new_mode):
    customer = customer_on("quarterly")
    terms_span_start(customer=customer, mode="quarterly", starts_at=None)  # onboarded on quarterly terms
    fund(customer, "500")
    with clock(local(2026, 10, 5, 12)):
        sub = subscription_start(customer=customer, plan=lite_plan(), starts_on=date(2026, 10, 1), actor=None)
    ops = ServiceCharge.objects.create(
        customer=customer,
        description="Agent ops",
        amount=Decimal("300"),
        currency="CNY",
        recurrence=ServiceCharge.Recurrence.MONTHLY,
        starts_on=date(2026, 10, 1),
    )
    purchase = _pack_on_credit(customer, local(2026, 10, 20, 9))
    assert close_period("2026-10", issue_date=date(2026, 11, 1)).invoices == []  # quarterly then
    switch(customer, new_mode, local(2026, 11, 15, 12))
    [november] = close_period("2026-11", issue_date=date(2026, 12, 1)).invoices
    with clock(local(2026, 12, 1, 0, 30)):
        charges_due()
    close_period("2026-12", issue_date=date(2027, 1, 1))
    assert close_period("2026-Q4", issue_date=date(2027, 1, 1)).invoices == []  # no longer quarterly
    with clock(local(2027, 1, 1, 0, 30)):
        charges_due()

    month = f"subscription:{sub.pk}:2026-"
    # October and November began on quarterly (credit) terms: the November close invoices both, with
    # October's service month and the pack bought on credit in October.
    assert {ln.source_key: ln.amount for ln in november.lines.all()} == {
        f"{month}10": Decimal("40.00"),
        f"{month}11": Decimal("40.00"),
        f"service:{ops.pk}:2026-10": Decimal("300.00"),
        f"service:{ops.pk}:2026-11": Decimal("300.00"),
        f"pack:{purchase.pk}": Decimal("180.00"),
    }
    assert sorted(november.lines.values_list("description", flat=True)) == [
        "Agent ops",
        "Agent ops (2026-10)",
        "Coding plan Lite (2026-10)",
        "Coding plan Lite (2026-11)",
        "DeepSeek 100M tokens",
    ]
    invoiced, wallet = _invoiced(customer), _wallet(customer)
    assert len(invoiced) == len(set(invoiced)) and not set(invoiced) & wallet
    if new_mode == "prepaid":
        # December began on prepaid terms: the wallet's, never the invoice's.
        assert f"{month}12" in wallet and f"{month}12" not in invoiced
    else:
        assert f"{month}12" in invoiced and not wallet
    assert {f"{month}{m}" for m in ("10", "11", "12")} <= set(invoiced) | wallet


def test_month_whose_invoice_came_to_a_net_credit_keeps_its_subscription(source, model):
    customer = customer_make(key="key-c", mode=BillingTerms.Mode.MONTHLY)
    plan = SubscriptionPlan.objects.create(
        name="Support", monthly_fee=Decimal("40"), allowance=Decimal(0), currency="CNY"
    )
    with clock(local(2026, 10, 2, 12)):
        sub = subscription_start(customer=customer, plan=plan, starts_on=date(2026, 10, 1), actor=None)
    october_use = event(
        "r1", key="key-c", at=datetime(2026, 10, 3, 2, tzinfo=UTC), prompt=0, completion=10**7
    )
    usage_batch_ingest(source=source, records=[october_use], idempotency_key="b1")
    [october] = close_period("2026-10", issue_date=date(2026, 11, 1)).invoices
    assert october.subtotal == Decimal("120.00")  # 80 of usage and October's 40
    # A price error fixed after the close: October's usage re-rated from 80 to 8, a 72 credit.
    PriceTier.objects.filter(entry__model=model, entry__book__kind=BookKind.SELL).update(
        output=Decimal("0.8")
    )
    with clock(local(2026, 11, 5, 12)):
        usage_correct(
            customer=customer,
            model=model,
            since=datetime(2026, 9, 30, 16, tzinfo=UTC),
            until=datetime(2026, 10, 31, 16, tzinfo=UTC),
            reason="price",
            actor=staff(StaffRole.FINANCE),
            idempotency_key="fix",
        )
    # November: 40 of subscription against the 72 credit, no invoice; the month is not lost.
    assert close_period("2026-11", issue_date=date(2026, 12, 1)).invoices == []
    december_use = event(
        "r2", key="key-c", at=datetime(2026, 12, 3, 2, tzinfo=UTC), prompt=0, completion=10**8
    )
    usage_batch_ingest(source=source, records=[december_use], idempotency_key="b2")
    [december] = close_period("2026-12", issue_date=date(2027, 1, 1)).invoices
    lines = {ln.source_key: ln.amount for ln in december.lines.exclude(kind=InvoiceLine.Kind.USAGE)}
    assert lines == {
        f"subscription:{sub.pk}:2026-11": Decimal("40.00"),
        f"subscription:{sub.pk}:2026-12": Decimal("40.00"),
    }
    # December's usage (80 at the corrected price) less October's 72 credit, and the two months.
    assert december.subtotal == Decimal("88.00")
    assert Counter(_invoiced(customer)) == {f"subscription:{sub.pk}:2026-{m}": 1 for m in ("10", "11", "12")}


def test_months_billed_by_earlier_closes_are_not_billed_again_and_reruns_make_nothing(source):
    customer = customer_make(key="key-m", mode=BillingTerms.Mode.MONTHLY)
    plan = SubscriptionPlan.objects.create(name="P", monthly_fee=Decimal("100"), allowance=0, currency="CNY")
    with clock(local(2026, 9, 1, 9)):
        sub = subscription_start(customer=customer, plan=plan, starts_on=date(2026, 9, 1), actor=None)
    quarterly = ServiceCharge.objects.create(
        customer=customer,
        description="Review",
        amount=Decimal("900"),
        currency="CNY",
        recurrence=ServiceCharge.Recurrence.QUARTERLY,
        starts_on=date(2026, 9, 10),
        ends_on=date(2026, 11, 20),
    )
    one_off = ServiceCharge.objects.create(
        customer=customer,
        description="Workshop",
        amount=Decimal("500"),
        currency="CNY",
        starts_on=date(2026, 9, 2),
    )
    [september] = close_period("2026-09", issue_date=date(2026, 10, 1)).invoices
    assert set(september.lines.values_list("source_key", flat=True)) == {
        f"service:{one_off.pk}",
        f"service:{quarterly.pk}:2026-Q3",
        f"subscription:{sub.pk}:2026-09",
    }
    [october] = close_period("2026-10", issue_date=date(2026, 11, 1)).invoices
    assert set(october.lines.values_list("source_key", flat=True)) == {
        f"service:{quarterly.pk}:2026-Q4",
        f"subscription:{sub.pk}:2026-10",
    }
    # Re-running a close makes nothing; the next one bills only its own month (the charge ended).
    assert close_period("2026-10", issue_date=date(2026, 11, 1)).invoices == []
    [november] = close_period("2026-11", issue_date=date(2026, 12, 1)).invoices
    assert list(november.lines.values_list("source_key", flat=True)) == [f"subscription:{sub.pk}:2026-11"]
    invoiced = _invoiced(customer)
    assert len(invoiced) == len(set(invoiced)) == 6
    assert Invoice.objects.filter(customer=customer).count() == 3


def test_a_voided_draft_gives_its_months_back_to_the_next_close(source):
    customer = customer_make(key="key-r", mode=BillingTerms.Mode.MONTHLY, review_invoices=True)
    plan = SubscriptionPlan.objects.create(name="P", monthly_fee=Decimal("100"), allowance=0, currency="CNY")
    with clock(local(2026, 10, 1, 9)):
        sub = subscription_start(customer=customer, plan=plan, starts_on=date(2026, 10, 1), actor=None)
    [draft] = close_period("2026-10", issue_date=date(2026, 11, 1)).invoices
    assert draft.status == Invoice.Status.DRAFT
    with clock(local(2026, 11, 3, 9)):
        invoice_void(invoice=draft, reason="wrong plan", actor=staff(StaffRole.FINANCE))
    [november] = close_period("2026-11", issue_date=date(2026, 12, 1)).invoices
    assert sorted(november.lines.values_list("source_key", flat=True)) == [
        f"subscription:{sub.pk}:2026-10",
        f"subscription:{sub.pk}:2026-11",
    ]
