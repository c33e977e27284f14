"""A priced model, a vendor contract with one channel, and usage on it ingested through the usage services."""

from datetime import UTC, date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from billing.usage.services import usage_batch_ingest
from catalog.models import PriceBook, Settlement
from catalog.services.contracts import channel_create, contract_create
from tests.billing.usage.conftest import top_up
from tests.billing.usage.factories import customer_make, default_plan, event, priced_model, source_make

# deepseek-chat costs 1 per million input and 4 per million output tokens (CNY): 1,000 prompt and 500
# completion tokens cost 0.003.
COST_PER_REQUEST = Decimal("0.003")
TOKENS_PER_REQUEST = 1500


def noon(day: date) -> datetime:
    """Noon of ``day`` in the operator's zone (the rollups' day)."""
    return datetime.combine(day, time(12), tzinfo=ZoneInfo(settings.TIME_ZONE)).astimezone(UTC)


@pytest.fixture
def model():
    found = priced_model()
    default_plan()
    return found


def contract_make(model, *, name="DeepSeek direct", settlement=Settlement.PREPAID, **extra):
    return contract_create(
        vendor=model.vendor,
        name=name,
        currency="CNY",
        valid_from=date(2026, 1, 1),
        cost_book=PriceBook.objects.get(name="cost-CNY"),
        settlement=settlement,
        **extra,
    )


@pytest.fixture
def channel(model):
    return channel_create(contract=contract_make(model), name="deepseek-main", aliases=["ds-key-2"])


@pytest.fixture
def postpaid_channel(model):
    contract = contract_make(model, name="DeepSeek postpaid", settlement=Settlement.POSTPAID)
    return channel_create(contract=contract, name="deepseek-post")


@pytest.fixture
def usage(model):
    """``usage(day, requests, account=…)``: ingest that many requests on ``day`` naming ``account``."""
    source = source_make()[0]
    customer = customer_make(key="key-a")
    top_up(customer, Decimal("1000"))
    counter = iter(range(10**6))

    def ingest(day: date, requests: int, *, account: str = "deepseek-main", model_name="deepseek-chat"):
        n = next(counter)
        records = [
            event(f"r{n}-{i}", at=noon(day), model=model_name, upstream_account=account)
            for i in range(requests)
        ]
        return usage_batch_ingest(source=source, records=records, idempotency_key=f"batch-{n}")

    return ingest


def at(day: date, hour: int = 0) -> datetime:
    """``hour`` o'clock of ``day`` in the operator's zone."""
    return datetime.combine(day, time(hour), tzinfo=ZoneInfo(settings.TIME_ZONE))


def buy(
    channel, reference, price, *, credit=None, kind="amount", expires=None, bought=date(2026, 1, 1), **extra
):
    """Buy a pack on ``channel`` from the bank, valid from ``bought`` until ``expires`` (operator's days)."""
    from billing.upstream.packs import upstream_pack_buy

    pack, _ = upstream_pack_buy(
        channel=channel,
        kind=kind,
        reference=reference,
        price=Decimal(price),
        credit=None if credit is None else Decimal(credit),
        purchased_at=at(bought),
        expires_at=None if expires is None else at(expires),
        payment="bank",
        **extra,
    )
    return pack
