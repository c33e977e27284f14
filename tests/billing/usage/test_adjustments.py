"""Gateway quota adjustments (``status: "adjustment"``: new-api's "补扣/退还额度" rows of asynchronous tasks,
refunds): no tokens, a gateway cost that may be negative; stored *not charged* as gateway evidence, never
rated nor rolled up, never a bad row. Only an adjustment's gateway cost may be negative."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from billing.ledger.models import JournalTransaction
from billing.usage.models import GatewayKey, RatingState, UsageDaily, UsageEvent
from billing.usage.rerate import usage_rerate
from billing.usage.services import usage_batch_ingest
from tests.billing.usage.factories import customer_make, event

pytestmark = pytest.mark.django_db


def adjustment(request_id: str, cost: str, **extra) -> dict:
    return event(
        request_id,
        **{"prompt": 0, "completion": 0, **extra},
        status="adjustment",
        gateway_cost=cost,
        gateway_cost_currency="CNY",
        metadata={"task_id": "task-9"},
    )


def test_an_adjustment_is_stored_not_charged_with_its_negative_gateway_cost(source, prepaid):
    postings = JournalTransaction.objects.count()
    result = usage_batch_ingest(
        source=source, records=[adjustment("refund-1", "-0.35"), adjustment("extra-1", "0.2")]
    )
    assert (result.accepted, result.rejected, result.unrated) == (2, 0, 0)
    refund = UsageEvent.objects.get(request_id="refund-1")
    assert refund.rating_state == RatingState.NOT_CHARGED
    assert (refund.gateway_cost, refund.gateway_cost_currency) == (Decimal("-0.35"), "CNY")
    assert refund.metadata == {"task_id": "task-9", "adjustment": True}
    assert refund.customer_id == prepaid.pk
    assert refund.sell_amount is None and refund.cost_amount is None
    assert UsageEvent.objects.get(request_id="extra-1").gateway_cost == Decimal("0.2")
    # Nothing charged: no rollup, no posting.
    assert not UsageDaily.objects.exists()
    assert JournalTransaction.objects.count() == postings


def test_an_adjustment_with_usage_counts_is_a_row_error_and_the_good_rows_stay(source, prepaid):
    records = [
        adjustment("bad-tokens", "-1", prompt=10),
        adjustment("bad-images", "-1", images=1),
        event("negative", gateway_cost="-0.01"),
        adjustment("good", "-1"),
        event("usage"),
    ]
    result = usage_batch_ingest(source=source, records=records)
    assert (result.accepted, result.rejected) == (2, 3)
    assert result.errors == [
        {"index": 0, "field": "prompt_tokens", "reason": "must be 0 on an adjustment (status adjustment)"},
        {"index": 1, "field": "images", "reason": "must be 0 on an adjustment (status adjustment)"},
        {"index": 2, "field": "gateway_cost", "reason": "must be a non-negative decimal number"},
    ]
    assert set(UsageEvent.objects.values_list("request_id", flat=True)) == {"good", "usage"}


def test_an_adjustment_of_a_key_mapped_later_is_re_rated_to_not_charged(source, model):
    usage_batch_ingest(source=source, records=[adjustment("late", "-2", key="key-late")])
    row = UsageEvent.objects.get()
    assert row.rating_state == RatingState.UNRATED
    customer = customer_make(key="key-other")
    GatewayKey.objects.create(key="key-late", customer=customer)
    usage_rerate()
    row.refresh_from_db()
    assert (row.rating_state, row.customer_id, row.sell_amount) == (
        RatingState.NOT_CHARGED,
        customer.pk,
        None,
    )
    assert row.gateway_cost == Decimal("-2")
    assert not UsageDaily.objects.exists()


def test_the_api_accepts_an_adjustment(source, prepaid):
    token = source.token_set()
    source.save()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = client.post("/api/v1/usage/batches", [adjustment("api-adj", "-0.5")], format="json")
    assert response.status_code == 200
    assert (response.json()["accepted"], response.json()["rejected"]) == (1, 0)
    row = UsageEvent.objects.get()
    assert (row.rating_state, row.gateway_cost) == (RatingState.NOT_CHARGED, Decimal("-0.5"))
