"""Revenue and cost of the margin report against the operator's books: what agrees, what the difference is."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import StaffRole
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind
from billing.ledger.services import credit, debit, transaction_post
from billing.terms.models import BillingTerms
from billing.upstream.margin.ledger import ledger_comparison
from billing.usage.models import GatewayKey
from billing.usage.services import usage_batch_ingest
from catalog.models import BookKind, PlanRule
from catalog.services.plans import plan_assign, plan_create
from tests.billing.factories import staff, topup
from tests.billing.usage.factories import source_make
from tests.catalog.factories import EPOCH, AIModelFactory, PriceBookFactory, add_prices, add_rule, tier
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
K = AccountKind
D = Decimal


def _post(key, kind, day, lines):
    return transaction_post(idempotency_key=key, kind=kind, lines=lines, effective_date=day, memo=key)


def _by_currency(checks):
    return {c.currency: c for c in checks}


@pytest.mark.corrupts_billing("rollups written by hand; their postings are written here by hand too")
def test_the_books_beside_the_crafted_month(month):
    x, s, c = month["x"], month["s"], month["c"]
    zhipu, openrouter = month["zhipu"], month["openrouter_a"].contract.vendor
    revenue = account_get(kind=K.REVENUE_USAGE, currency="CNY")
    unbilled = account_get(kind=K.UNBILLED_RECEIVABLE, currency="CNY", customer=x)
    may_end = date(2026, 5, 31)
    _post(
        "usage", "usage.accrual", may_end, [debit(unbilled, D("68"), "CNY"), credit(revenue, D("68"), "CNY")]
    )
    adjust = account_get(kind=K.MANUAL_ADJUSTMENT, currency="CNY")
    _post(
        "credit",
        "credit_note.issue",
        date(2026, 5, 25),
        [debit(revenue, D("5"), "CNY"), credit(adjust, D("5"), "CNY")],
    )
    # a late batch posted in June is June's revenue in the books
    _post(
        "late",
        "usage.accrual",
        date(2026, 6, 2),
        [debit(unbilled, D("3"), "CNY"), credit(revenue, D("3"), "CNY")],
    )
    # S's sale to C is in S's book: never the operator's revenue
    s_revenue = account_get(kind=K.REVENUE_USAGE, currency="CNY", book=s)
    c_unbilled = account_get(kind=K.UNBILLED_RECEIVABLE, currency="CNY", customer=c)
    _post(
        "s-sale",
        "usage.accrual",
        may_end,
        [debit(c_unbilled, D("50"), "CNY"), credit(s_revenue, D("50"), "CNY")],
    )
    cost_cny = account_get(kind=K.COST_OF_TOKENS, currency="CNY", vendor=zhipu)
    prepaid_cny = account_get(kind=K.UPSTREAM_PREPAID, currency="CNY", vendor=zhipu)
    _post(
        "cost-cny",
        "usage.accrual",
        may_end,
        [debit(cost_cny, D("11"), "CNY"), credit(prepaid_cny, D("11"), "CNY")],
    )
    cost_usd = account_get(kind=K.COST_OF_TOKENS, currency="USD", vendor=openrouter)
    prepaid_usd = account_get(kind=K.UPSTREAM_PREPAID, currency="USD", vendor=openrouter)
    _post(
        "cost-usd",
        "usage.prepaid",
        may_end,
        [debit(cost_usd, D("5"), "USD"), credit(prepaid_usd, D("5"), "USD")],
    )
    _post(
        "rebate",
        "upstream.tier.rebate",
        may_end,
        [debit(prepaid_usd, D("0.40"), "USD"), credit(cost_usd, D("0.40"), "USD")],
    )
    _post(
        "pack",
        "upstream.pack.draw",
        may_end,
        [debit(cost_usd, D("0.10"), "USD"), credit(prepaid_usd, D("0.10"), "USD")],
    )
    _post(  # a kind the page has no words for is shown by its code
        "other",
        "upstream.something_new",
        may_end,
        [debit(prepaid_usd, D("0.20"), "USD"), credit(cost_usd, D("0.20"), "USD")],
    )
    expired = account_get(kind=K.UPSTREAM_EXPIRED, currency="USD", vendor=openrouter)
    _post(
        "expiry",
        "upstream.expiry",
        may_end,
        [debit(expired, D("1"), "USD"), credit(prepaid_usd, D("1"), "USD")],
    )

    comparison = ledger_comparison(date(2026, 5, 1), may_end)

    revenue_cny = _by_currency(comparison.revenue)["CNY"]
    assert (revenue_cny.rollups, revenue_cny.ledger, revenue_cny.difference) == (D("68"), D("63"), D("-5"))
    assert not revenue_cny.agrees
    assert [(p.kind, p.amount, p.is_usage, p.label) for p in revenue_cny.parts] == [
        ("usage.accrual", D("68"), True, "Usage on credit terms (accrued for the invoice)"),
        ("credit_note.issue", D("-5"), False, "Credit notes"),
    ]
    costs = _by_currency(comparison.cost)
    assert (costs["CNY"].rollups, costs["CNY"].ledger, costs["CNY"].agrees) == (D("11"), D("11"), True)
    assert (costs["USD"].rollups, costs["USD"].ledger, costs["USD"].difference) == (
        D("5"),
        D("4.5"),
        D("-0.5"),
    )
    assert [(p.kind, p.amount, p.label) for p in costs["USD"].parts] == [
        ("usage.prepaid", D("5"), "Usage charged to prepaid wallets"),
        ("upstream.pack.draw", D("0.1"), "Packs bought below or above contract cost"),
        ("upstream.something_new", D("-0.2"), "upstream.something_new"),
        ("upstream.tier.rebate", D("-0.4"), "Volume tier rebates"),
    ]
    assert comparison.other_cost == [(str(K.UPSTREAM_EXPIRED.label), "USD", D("1"))]
    june = ledger_comparison(date(2026, 6, 1), date(2026, 6, 30))
    assert [(c.currency, c.rollups, c.ledger) for c in june.revenue] == [("CNY", D("0"), D("3"))]


def _story():
    """Three of today's requests through ingest: 2 by a credit-terms customer, 1 by a prepaid one.

    Cost book 6 / 18 CNY per million tokens, sold at cost × 1.35; a request is 600,000 + 200,000 tokens:
    cost 7.20, sale 9.72."""
    model = AIModelFactory(name="glm-5")
    book = PriceBookFactory(name="Zhipu contract", kind=BookKind.COST, currency="CNY")
    add_prices(book, model, tier(input="6", output="18"))
    plan = plan_create(name="Wholesale", currency="CNY")
    add_rule(plan, PlanRule.Method.COST_MARKUP, markup=D("0.35"))
    records = []
    for code, mode, n in (
        ("credit-co", BillingTerms.Mode.MONTHLY, 2),
        ("wallet-co", BillingTerms.Mode.PREPAID, 1),
    ):
        customer = CustomerFactory(name=code, code=code)
        BillingTerms.objects.create(customer=customer, mode=mode, currency="CNY", credit_limit=D("100000"))
        GatewayKey.objects.create(key=f"key-{code}", customer=customer)
        plan_assign(customer=customer, plan=plan, effective_from=EPOCH)
        if mode == BillingTerms.Mode.PREPAID:
            topup(customer, "100", f"topup-{code}")
        records += [
            {
                "request_id": f"{code}-{i}",
                "occurred_at": timezone.now().isoformat(),
                "key": f"key-{code}",
                "model": "glm-5",
                "prompt_tokens": 600_000,
                "completion_tokens": 200_000,
            }
            for i in range(n)
        ]
    result = usage_batch_ingest(source=source_make()[0], records=records, idempotency_key="margin-story")
    assert result.accepted == 3 and result.unrated == 0


def test_ingested_usage_agrees_with_the_books_and_a_credit_note_is_the_difference(client):
    _story()
    today = timezone.localdate()
    start = today.replace(day=1)

    comparison = ledger_comparison(start, today)

    revenue = _by_currency(comparison.revenue)["CNY"]
    assert (revenue.rollups, revenue.agrees) == (D("29.16"), True)
    assert {p.kind: p.amount for p in revenue.parts} == {
        "usage.accrual": D("19.44"),
        "usage.prepaid": D("9.72"),
    }
    cost = _by_currency(comparison.cost)["CNY"]
    assert (cost.rollups, cost.ledger, cost.agrees) == (D("21.60"), D("21.60"), True)

    revenue_account = account_get(kind=K.REVENUE_USAGE, currency="CNY")
    adjust = account_get(kind=K.MANUAL_ADJUSTMENT, currency="CNY")
    _post(
        "goodwill",
        "credit_note.issue",
        today,
        [debit(revenue_account, D("2"), "CNY"), credit(adjust, D("2"), "CNY")],
    )
    client.force_login(staff(StaffRole.AUDITOR))

    body = client.get(reverse("staff-upstream-margin")).content.decode()

    assert 'data-testid="ledger-revenue-CNY-rollups">29.16<' in body
    assert 'data-testid="ledger-revenue-CNY-ledger">27.16<' in body
    assert 'data-testid="ledger-revenue-CNY-difference">-2.00<' in body
    assert "Credit notes" in body and "not in the rollups" in body
    cost_cell = body.split('data-testid="ledger-cost-CNY-difference">')[1].split("</td>")[0]
    assert "agrees" in cost_cell
    assert 'data-testid="margin-total-margin">7.56<' in body  # 29.16 − 21.60


def test_the_period_covers_whole_days_of_effective_dates():
    day = date(2026, 5, 31)
    revenue = account_get(kind=K.REVENUE_USAGE, currency="CNY")
    adjust = account_get(kind=K.MANUAL_ADJUSTMENT, currency="CNY")
    _post("edge", "credit_note.issue", day, [debit(revenue, D("1"), "CNY"), credit(adjust, D("1"), "CNY")])

    assert _by_currency(ledger_comparison(date(2026, 5, 1), day).revenue)["CNY"].ledger == D("-1")
    assert ledger_comparison(date(2026, 6, 1), date(2026, 6, 30)).revenue == []
