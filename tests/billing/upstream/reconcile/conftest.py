"""The synthetic month: one channel, three models, one request of two models a day through ingest, and the
vendor's rows for it — exact copies of ours, except one injected discrepancy of each class.

Contract cost (CNY per million tokens): gpt-x input 2, cache read 0.5, output 8; gpt-mini input 0.5,
output 2; gpt-y input 1, output 4. A gpt-x request (600,000 prompt tokens of which 100,000 cache reads,
200,000 completion) costs 1.00 + 0.05 + 1.60 = 2.65; a gpt-mini request (200,000 / 100,000) 0.30.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from billing.terms.models import BillingTerms
from billing.upstream.models import ReconClass, VendorUsage
from billing.upstream.reconcile.figures import day_window
from billing.usage.models import GatewayKey
from billing.usage.services import usage_batch_ingest
from catalog.models import BookKind, PlanRule
from catalog.services.contracts import channel_alias_add, channel_create, contract_create
from catalog.services.plans import plan_assign, plan_create
from tests.billing.usage.factories import source_make
from tests.catalog.factories import EPOCH, AIModelFactory, PriceBookFactory, VendorFactory, add_prices, tier
from tests.factories import CustomerFactory

JUNE = [date(2026, 6, d) for d in range(1, 31)]
AFTER_JUNE = datetime(2026, 7, 3, tzinfo=UTC)  # every June day due (lag 24 h)

X = {"requests": 1, "input": 500_000, "cache_read": 100_000, "output": 200_000, "cost": Decimal("2.65")}
MINI = {"requests": 1, "input": 200_000, "cache_read": 0, "output": 100_000, "cost": Decimal("0.30")}

# Day of June → (the class injected there, the lines it makes: {model: value at stake in CNY}).
INJECTED = {
    2: (ReconClass.UNBILLED_USAGE, {"gpt-x": Decimal("5.30")}),
    3: (ReconClass.NO_UPSTREAM_RECORD, {"gpt-x": Decimal("2.65")}),
    4: (ReconClass.TOKEN_DRIFT, {"gpt-x": Decimal("0.16")}),
    5: (ReconClass.CACHE_MISMATCH, {"gpt-x": Decimal("0.075")}),
    6: (ReconClass.PRICE_MISMATCH, {"gpt-x": Decimal("0.53")}),
    7: (ReconClass.MODEL_MISMATCH, {"gpt-x": Decimal("1.25"), "gpt-y": Decimal(0)}),
    8: (ReconClass.MISSING_UPSTREAM_DATA, {"gpt-x": Decimal("2.65"), "gpt-mini": Decimal("0.30")}),
}


@dataclass
class VendorRow:
    """One row of the vendor's usage, as every import format can carry it."""

    day: date
    model: str
    requests: int
    input: int
    cache_read: int
    output: int
    cost: Decimal


def vendor_month(days=JUNE) -> list[VendorRow]:
    """The vendor's view of the month: ours exactly, with one discrepancy of each class injected."""
    rows = []
    for day in days:
        if day.day == 8:
            continue  # missing upstream data: nothing for the channel that day
        x, mini = dict(X), dict(MINI)
        if day.day == 2:  # two requests we never billed
            x = {k: v * 3 for k, v in x.items()}
        elif day.day == 4:  # the vendor counts 10% more output
            x["output"], x["cost"] = 220_000, Decimal("2.81")
        elif day.day == 5:  # 50,000 cache reads counted as uncached input
            x["input"], x["cache_read"], x["cost"] = 550_000, 50_000, Decimal("2.725")
        elif day.day == 6:  # same tokens, charged 20% more
            x["cost"] = Decimal("3.18")
        rows.append(VendorRow(day, "gpt-mini", **mini))
        if day.day == 3:
            continue  # no upstream record of our gpt-x request
        if day.day == 7:  # served (and charged) as gpt-y: 500k × 1 + 100k × 1 + 200k × 4
            rows.append(VendorRow(day, "gpt-y", **{**x, "cost": Decimal("1.40")}))
            continue
        rows.append(VendorRow(day, "gpt-x", **x))
    return rows


def vendor_rows_store(channel, rows: list[VendorRow], *, has_cache_counts=True, currency="CNY"):
    """The vendor rows as H4's import stores them (``VendorUsage``), through the ORM."""
    from catalog.models import AIModel

    models = {m.name: m for m in AIModel.objects.all()}
    for row in rows:
        starts, ends = day_window(row.day, channel.reporting_zone)
        VendorUsage.objects.create(
            channel=channel,
            day=row.day,
            starts_at=starts,
            ends_at=ends,
            model_name=row.model,
            model=models.get(row.model),
            requests=row.requests,
            input_tokens=row.input,
            cache_read_tokens=row.cache_read,
            output_tokens=row.output,
            cost=row.cost,
            currency=currency,
            has_cache_counts=has_cache_counts,
        )


def customer_with_key(code: str, currency: str = "CNY", parent=None):
    customer = CustomerFactory(code=code, parent=parent)
    BillingTerms.objects.create(
        customer=customer, mode=BillingTerms.Mode.MONTHLY, currency=currency, credit_limit=Decimal("1000000")
    )
    GatewayKey.objects.create(key=f"key-{code}", customer=customer)
    return customer


def request(customer, n: str, at: datetime, model: str, account: str, spec: dict) -> dict:
    return {
        "request_id": f"{customer.code}-{n}",
        "occurred_at": at.isoformat(),
        "key": f"key-{customer.code}",
        "model": model,
        "prompt_tokens": spec["input"] + spec["cache_read"],
        "cache_read_tokens": spec["cache_read"],
        "completion_tokens": spec["output"],
        "upstream_account": account,
    }


@dataclass
class World:
    channel: object
    customer: object
    source: object
    cost_book: object


def world_make(*, currency="CNY", zone="UTC", name="openai-main", sell_currency="CNY") -> World:
    vendor = VendorFactory(name="OpenAI", slug="openai")
    cost_book = PriceBookFactory(name=f"OpenAI contract {currency}", kind=BookKind.COST, currency=currency)
    for model, prices in (
        ("gpt-x", tier(input="2", cache_read="0.5", output="8")),
        ("gpt-mini", tier(input="0.5", output="2")),
        ("gpt-y", tier(input="1", output="4")),
    ):
        add_prices(cost_book, AIModelFactory(vendor=vendor, name=model), prices)
    plan = plan_create(name=f"Cost plus {sell_currency}", currency=sell_currency)
    from tests.catalog.factories import add_rule

    add_rule(plan, PlanRule.Method.COST_MARKUP, markup=Decimal("0.5"))
    contract = contract_create(
        vendor=vendor,
        name=f"OpenAI {currency}",
        currency=currency,
        valid_from=date(2026, 1, 1),
        cost_book=cost_book,
    )
    channel = channel_create(contract=contract, name=name, reporting_zone=zone, reporting_lag_hours=24)
    channel_alias_add(channel=channel, alias=f"{name}-ALIAS")
    customer = customer_with_key("acme", sell_currency)
    plan_assign(customer=customer, plan=plan, effective_from=EPOCH)
    source = source_make()[0]
    return World(channel, customer, source, cost_book)


def our_month(world: World, days=JUNE, *, hour: int = 10) -> None:
    """One gpt-x and one gpt-mini request a day, ingested; the gpt-x ones name the channel by its alias
    in another case, to show names match case-insensitively."""
    records = []
    for day in days:
        at = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=hour)
        alias = f"{world.channel.name}-alias"
        records.append(request(world.customer, f"x-{day}", at, "gpt-x", alias, X))
        records.append(request(world.customer, f"m-{day}", at, "gpt-mini", world.channel.name.upper(), MINI))
    result = usage_batch_ingest(source=world.source, records=records, idempotency_key=f"month-{days[0]}")
    assert result.accepted == len(records) and result.unrated == 0, result


@pytest.fixture
def world():
    return world_make()


@pytest.fixture
def month(world):
    our_month(world)
    return world
