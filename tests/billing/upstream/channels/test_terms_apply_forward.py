"""A change of contract or channel applies to usage rated after it: what was rated keeps its cost."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from billing.usage.models import UsageEvent
from billing.usage.services import usage_batch_ingest
from catalog.services.contracts import (
    channel_alias_remove,
    channel_create,
    channel_update,
    contract_create,
    contract_update,
)
from tests.billing.usage.factories import AT, customer_make, default_plan, event, priced_model, source_make
from tests.catalog.factories import PriceBookFactory, add_prices, tier

pytestmark = pytest.mark.django_db
MILLION = 1_000_000


@pytest.fixture
def setup():
    """A model at list 3 + 12 CNY per million in and out, a contract 10% off that list, its channel."""
    model = priced_model()  # the best cost book: 1 + 4
    default_plan()
    customer_make(key="key-a")
    listed = PriceBookFactory(name="List", kind="list", currency="CNY", vendor=model.vendor)
    add_prices(listed, model, tier(input="3", output="12"))
    contract = contract_create(
        vendor=model.vendor,
        name="Discount",
        currency="CNY",
        valid_from=date(2026, 1, 1),
        cost_basis="list_discount",
        list_book=listed,
        discount=Decimal("0.1"),
    )
    channel = channel_create(contract=contract, name="ds-main", aliases=["channel:3"])
    return source_make()[0], contract, channel


def _use(source, request_id: str, account: str, at=AT) -> Decimal:
    usage_batch_ingest(
        source=source,
        records=[event(request_id, at=at, prompt=MILLION, completion=MILLION, upstream_account=account)],
    )
    return UsageEvent.objects.get(request_id=request_id).cost_amount


def test_new_terms_cost_new_usage_and_leave_rated_usage_alone(setup):
    source, contract, _channel = setup
    assert _use(source, "before", "ds-main") == Decimal("13.5")  # (3 + 12) × 0.9
    contract_update(contract=contract, discount=Decimal("0.2"))
    assert _use(source, "after", "ds-main", at=AT + timedelta(hours=1)) == Decimal(12)  # (3 + 12) × 0.8
    assert UsageEvent.objects.get(request_id="before").cost_amount == Decimal("13.5")


def test_a_renamed_channel_still_costs_events_under_its_old_name(setup):
    source, _contract, channel = setup
    channel_update(channel=channel, name="deepseek-primary")
    assert _use(source, "old-name", "ds-main") == Decimal(
        "13.5"
    )  # the contract's cost, not the best book's 5


def test_without_its_alias_an_account_falls_back_to_the_best_cost_book(setup):
    source, _contract, channel = setup
    assert _use(source, "aliased", "channel:3") == Decimal("13.5")
    channel_alias_remove(channel=channel, alias="channel:3")
    assert _use(source, "unaliased", "channel:3", at=AT + timedelta(hours=1)) == Decimal(5)
    assert UsageEvent.objects.get(request_id="aliased").cost_amount == Decimal("13.5")
