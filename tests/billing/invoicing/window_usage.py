"""A DeepSeek-like windowed catalog and a credit customer's usage at peak and off-peak hours, ingested for
real: the invoice line tests and the document tests build on it.

Prices per million tokens, CNY. List: deepseek-chat input 2, output 8, with an "Off-peak" window every
day 00:30–08:30 Asia/Shanghai at input 1, output 4 (DeepSeek's night prices); gpt-image-1 input 5,
output 40 and 0.04 per image; gpt-4o-transcribe input 2.5, output 10 and 0.006 per second of audio. The
default plan sells at list less 10% (windows kept, scaled). The cost book has no windows.
"""

import itertools
from datetime import UTC, datetime
from decimal import Decimal

from django.db.models import Sum

from billing.terms.models import BillingTerms
from billing.usage.models import UsageEvent
from billing.usage.services import usage_batch_ingest
from catalog.models import BookKind, PlanRule
from catalog.services.books import WindowSpec
from tests.billing.usage.factories import customer_make, source_make
from tests.catalog.factories import (
    AIModelFactory,
    PriceBookFactory,
    SellPlanFactory,
    VendorFactory,
    add_prices,
    add_rule,
    tier,
)

NIGHT = [{"weekdays": [1, 2, 3, 4, 5, 6, 7], "start": "00:30", "end": "08:30"}]
# 2026-10-12 is a Monday: 03:00 UTC is 11:00 in Shanghai (peak), 18:00 UTC 02:00 on Tuesday (off-peak).
PEAK_AT = datetime(2026, 10, 12, 3, tzinfo=UTC)
NIGHT_AT = datetime(2026, 10, 12, 18, tzinfo=UTC)
_ids = itertools.count(1)


def windowed_catalog(*, label: str = "Off-peak") -> None:
    """The list and cost books and the default plan (list − 10%) described in the module docstring."""
    vendor = VendorFactory(name="DeepSeek", slug="deepseek")
    chat = AIModelFactory(vendor=vendor, name="deepseek-chat")
    image = AIModelFactory(vendor=vendor, name="gpt-image-1")
    audio = AIModelFactory(vendor=vendor, name="gpt-4o-transcribe")
    list_book = PriceBookFactory(name="list-CNY", kind=BookKind.LIST, currency="CNY")
    cost_book = PriceBookFactory(name="cost-CNY", kind=BookKind.COST, currency="CNY")
    night = WindowSpec(
        label=label, time_zone="Asia/Shanghai", rules=NIGHT, input=Decimal(1), output=Decimal(4)
    )
    add_prices(list_book, chat, tier(input="2", output="8"), windows=[night])
    add_prices(list_book, image, tier(input="5", output="40", image="0.04"))
    add_prices(list_book, audio, tier(input="2.5", output="10", audio_second="0.006"))
    for model in (chat, image, audio):
        add_prices(cost_book, model, tier(input="0.5", output="2", image="0.01", audio_second="0.001"))
    plan = SellPlanFactory(name="list-10", currency="CNY", is_default=True)
    add_rule(plan, PlanRule.Method.LIST_DISCOUNT, discount=Decimal("0.1"), source_book=list_book)


def credit_customer(key: str = "key-w"):
    """A monthly credit customer in CNY with a gateway key and the source its usage comes from."""
    source = source_make(name=f"gw-{key}")[0]
    customer = customer_make(key=key, mode=BillingTerms.Mode.MONTHLY, source=source)
    return customer, source


def ingest(source, *, key: str = "key-w", at: datetime, model: str = "deepseek-chat", **counts) -> None:
    """One event through the real per-batch pipeline (rated, rolled up, window rollup, accrued)."""
    n = next(_ids)
    record = {
        "request_id": f"w-{n}",
        "occurred_at": at.isoformat(),
        "key": key,
        "model": model,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        **counts,
    }
    result = usage_batch_ingest(source=source, records=[record], idempotency_key=f"wb-{n}")
    assert result.accepted == 1, result


def rated_sum(customer, model: str, **where) -> Decimal:
    """The customer's rated sell amount for ``model`` (exact, as stored on the events)."""
    events = UsageEvent.objects.filter(customer=customer, model__name=model, **where)
    return events.aggregate(s=Sum("sell_amount"))["s"]
