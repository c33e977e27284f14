"""No flag on clean data: a month of realistic noise across four channels flags nothing, and the same
month with one injected discrepancy per signal flags exactly those three.

Every channel serves the model it is asked for (responses name it, a dated snapshot of it, it with a
provider prefix, or nothing); tokens per request wander ±6% from day to day and channel to channel; the
vendor's charges are the contract's prices within ±0.8%."""

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import F

from billing.upstream.mismatch.services import mismatch_scan
from billing.upstream.models import MismatchFlag
from billing.usage.models import UsageDaily
from tests.billing.upstream.mismatch.factories import DAY, at, record, vendor_row
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

FIRST = DAY - timedelta(days=29)
NAMES = [
    "claude-opus",
    "claude-opus-20250805",
    "anthropic/claude-opus",
    "us.anthropic.claude-opus-v1:0",
    None,
]
RATES = {"claude-opus": (15, 75), "claude-haiku": (1, 5)}


def _events(world):
    """Gateway events with their reported model on the last three days, through ingestion (ant-a's
    traffic partly under its alias deploy-a)."""
    rows = []
    for d in range(3):
        for c, channel in enumerate(world.channels):
            for i in range(40):
                account = "deploy-a" if channel.name == "ant-a" and i % 2 else channel.name
                when = at(DAY - timedelta(days=d), 1 + c, i)
                rows.append(
                    record(f"{channel.name}-{d}-{i}", channel=account, when=when, reported=NAMES[(i + c) % 5])
                )
    world.ingest(rows)


def _month(world, rng):
    """A month of operator-sold daily usage per channel and model (another customer's rollup rows), and
    the vendor's matching rows."""
    other = CustomerFactory()
    daily = []
    for d in range(30):
        day = FIRST + timedelta(days=d)
        for channel in world.channels:
            for model, prompt, output in ((world.opus, 1000, 500), (world.haiku, 600, 300)):
                requests = rng.randint(60, 200)
                daily.append(
                    UsageDaily(
                        day=day,
                        customer=other,
                        model=model,
                        upstream_account=channel.name,
                        sell_currency="CNY",
                        cost_currency="CNY",
                        requests=requests,
                        prompt_tokens=round(requests * prompt * rng.uniform(0.94, 1.06)),
                        completion_tokens=round(requests * output * rng.uniform(0.94, 1.06)),
                    )
                )
                inp, out = rng.randint(10**5, 10**7), rng.randint(10**5, 10**7)
                rate_in, rate_out = RATES[model.name]
                exact = (Decimal(inp) * rate_in + Decimal(out) * rate_out) / 10**6
                noise = Decimal(str(round(rng.uniform(-0.008, 0.008), 5)))
                cost = (exact * (1 + noise)).quantize(Decimal("0.000001"))
                vendor_row(
                    channel, model, day=day, cost=cost, input_tokens=inp, output_tokens=out, requests=requests
                )
    UsageDaily.objects.bulk_create(daily)


def _clean(world):
    _events(world)
    _month(world, random.Random(18))


def test_a_noisy_clean_month_flags_nothing(world):
    _clean(world)
    result = mismatch_scan(date_from=FIRST, date_to=DAY)
    assert (result.created, result.flagged) == (0, 0)
    assert not MismatchFlag.objects.exists()


def test_one_discrepancy_per_signal_is_found_and_nothing_else(world):
    _clean(world)
    # (a) ant-b answers 10 requests with another model on the last day
    world.ingest(
        [record(f"bad-{i}", channel="ant-b", when=at(DAY, 20, i), reported="glm-4.6") for i in range(10)]
    )
    # (b) ant-c's opus prompts run 50% longer ten days before
    UsageDaily.objects.filter(
        upstream_account="ant-c", day=DAY - timedelta(days=10), model=world.opus
    ).update(prompt_tokens=F("prompt_tokens") * 3 / 2)
    # (c) ant-d bills haiku tokens at opus's prices five days before
    vendor_row(
        world.channels[3],
        world.haiku,
        day=DAY - timedelta(days=5),
        cost="90",
        input_tokens=10**6,
        output_tokens=10**6,
        vendor_key="k2",
    )

    mismatch_scan(date_from=FIRST, date_to=DAY)

    found = set(MismatchFlag.objects.values_list("channel__name", "model_name", "day", "signal"))
    assert found == {
        ("ant-b", "claude-opus", DAY, MismatchFlag.Signal.REPORTED_MODEL),
        ("ant-c", "claude-opus", DAY - timedelta(days=10), MismatchFlag.Signal.DISTRIBUTION_SHIFT),
        ("ant-d", "claude-haiku", DAY - timedelta(days=5), MismatchFlag.Signal.PRICE_TABLE),
    }
