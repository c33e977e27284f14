"""Today's usage through ingest, costed at each event's channel: the margin report and the books agree.

glm-5 sells at 12 / 36 CNY per million tokens (input / output). It costs 6 / 18 CNY on ``zhipu-direct``
(a CNY contract) and 1 / 2 USD on ``openrouter-a`` (a USD contract, alias ``OR-A``); USD → CNY is 7.00.
Every request is 600,000 input and 200,000 output tokens: sold 14.40 CNY, costing 7.20 CNY or 1.00 USD.

X (credit terms) sends 2 requests on zhipu-direct and 1 on OR-A; C, a customer of the reseller S, sends
1 on openrouter-a: S buys it from us at 14.40 and sells it to C at 18.00, which is S's revenue, not ours.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Customer
from billing.terms.models import BillingTerms
from billing.upstream.margin.dimensions import Dimension
from billing.upstream.margin.ledger import ledger_comparison
from billing.upstream.margin.selectors import Scope, margin_report
from billing.usage.models import GatewayKey
from billing.usage.services import usage_batch_ingest
from catalog.models import BookKind, FxRate, PlanRule
from catalog.services.contracts import channel_create, contract_create
from catalog.services.plans import plan_assign, plan_create
from tests.billing.usage.factories import source_make
from tests.catalog.factories import EPOCH, AIModelFactory, PriceBookFactory, add_prices, add_rule, tier
from tests.factories import CustomerFactory, SubDistributorFactory

pytestmark = pytest.mark.django_db
D = Decimal


def _buyer(customer, plan):
    BillingTerms.objects.create(
        customer=customer, mode=BillingTerms.Mode.MONTHLY, currency="CNY", credit_limit=D("100000")
    )
    GatewayKey.objects.create(key=f"key-{customer.code}", customer=customer)
    plan_assign(customer=customer, plan=plan, effective_from=EPOCH)
    return customer


def _request(customer, n, account):
    return {
        "request_id": f"{customer.code}-{account}-{n}",
        "occurred_at": timezone.now().isoformat(),
        "key": f"key-{customer.code}",
        "model": "glm-5",
        "upstream_account": account,
        "prompt_tokens": 600_000,
        "completion_tokens": 200_000,
    }


@pytest.fixture
def today():
    model = AIModelFactory(name="glm-5")
    sell = PriceBookFactory(name="List CNY", kind=BookKind.SELL, currency="CNY")
    add_prices(sell, model, tier(input="12", output="36"))
    start = EPOCH.date()
    for name, currency, prices, channel, aliases in (
        ("Zhipu direct", "CNY", ("6", "18"), "zhipu-direct", []),
        ("OpenRouter USD", "USD", ("1", "2"), "openrouter-a", ["OR-A"]),
    ):
        book = PriceBookFactory(name=f"{name} cost", kind=BookKind.COST, currency=currency)
        add_prices(book, model, tier(input=prices[0], output=prices[1]))
        contract = contract_create(
            vendor=model.vendor, name=name, currency=currency, valid_from=start, cost_book=book
        )
        channel_create(contract=contract, name=channel, aliases=aliases)
    FxRate.objects.create(
        base="USD", quote="CNY", date=timezone.localdate() - timedelta(days=40), rate=D("7.00")
    )
    plan = plan_create(name="List", currency="CNY")
    add_rule(plan, PlanRule.Method.EXPLICIT, source_book=sell)
    x = _buyer(CustomerFactory(name="X", code="x-direct"), plan)
    s = _buyer(
        SubDistributorFactory(name="Shop S", code="shop-s", chain_mode=Customer.ChainMode.RESALE), plan
    )
    retail = plan_create(name="S retail", currency="CNY", owner=s)
    add_rule(retail, PlanRule.Method.WHOLESALE_MARKUP, markup=D("0.25"))
    c = _buyer(CustomerFactory(name="C", code="c-end", parent=s), retail)
    records = [
        _request(x, 1, "zhipu-direct"),
        _request(x, 2, "zhipu-direct"),
        _request(x, 3, "OR-A"),
        _request(c, 1, "openrouter-a"),
    ]
    result = usage_batch_ingest(source=source_make()[0], records=records, idempotency_key="margin-today")
    assert result.accepted == 4 and result.unrated == 0
    day = timezone.localdate()
    return Scope(start=day.replace(day=1), end=day)


# Exact sums: SQLite, the demo's database, keeps decimals as REAL.
@pytest.mark.postgres
def test_margin_by_channel_of_ingested_usage(today):
    report = margin_report(today, Dimension.CHANNEL)

    rows = {r.key.ident: r.current for r in report.rows}
    assert set(rows) == {"channel:zhipu-direct", "channel:openrouter-a"}
    direct, resold = rows["channel:zhipu-direct"], rows["channel:openrouter-a"]
    assert (dict(direct.revenue), dict(direct.cost), direct.margin_base) == (
        {"CNY": D("28.80")},
        {"CNY": D("14.40")},
        D("14.40"),
    )
    # X's OR-A request and S's purchase of C's request: USD cost at the contract, 7.00 CNY each
    assert (dict(resold.revenue), dict(resold.cost), resold.cost_base, resold.margin_base) == (
        {"CNY": D("28.80")},
        {"USD": D("2.00")},
        D("14.00"),
        D("14.80"),
    )
    # never C's 18.00 at S's retail
    assert (report.total.revenue_base, report.total.cost_base, report.total.requests) == (
        D("57.60"),
        D("28.40"),
        4,
    )


def test_the_books_agree_with_the_rollups(today):
    comparison = ledger_comparison(today.start, today.end)

    revenue = {c.currency: c for c in comparison.revenue}
    assert list(revenue) == ["CNY"]
    assert (revenue["CNY"].rollups, revenue["CNY"].ledger, revenue["CNY"].agrees) == (
        D("57.60"),
        D("57.60"),
        True,
    )
    cost = {c.currency: (c.rollups, c.ledger, c.agrees) for c in comparison.cost}
    assert cost == {"CNY": (D("14.40"), D("14.40"), True), "USD": (D("2.00"), D("2.00"), True)}
