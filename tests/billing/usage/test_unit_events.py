"""Image and audio units on the per-batch path: parsed from the canonical event (and upload columns),
rated per image, per second and per audio token, stored and rolled up; bad values are row errors naming
the field while the good rows of the batch are kept.

Per million tokens (CNY): sell input 1, output 2, audio input 4, per image 0.04, per audio second 0.0001;
cost input 0.5, output 1, audio input 2, per image 0.03, per audio second 0.00005.
"""

import io
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from billing.usage.files import csv_records
from billing.usage.models import RatingState, UsageDaily, UsageEvent
from billing.usage.services import usage_batch_ingest
from catalog.models import AIModel, BookKind, PriceBook, Vendor
from tests.billing.usage.factories import T0, customer_make, default_plan, event, source_make
from tests.catalog.factories import add_prices, tier

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    vendor = Vendor.objects.create(name="OpenAI", slug="openai")
    sell = PriceBook.objects.create(name="sell-CNY", kind=BookKind.SELL, currency="CNY")
    cost = PriceBook.objects.create(name="cost-CNY", kind=BookKind.COST, currency="CNY")
    media = AIModel.objects.create(vendor=vendor, name="gpt-image-audio")
    add_prices(
        sell,
        media,
        tier(input=1, output=2, audio_input=4, image="0.04", audio_second="0.0001"),
        effective_from=T0,
    )
    add_prices(
        cost,
        media,
        tier(input="0.5", output=1, audio_input=2, image="0.03", audio_second="0.00005"),
        effective_from=T0,
    )
    text = AIModel.objects.create(vendor=vendor, name="text-only")
    add_prices(sell, text, tier(input=1, output=2), effective_from=T0)
    add_prices(cost, text, tier(input="0.5", output=1), effective_from=T0)
    default_plan()
    customer_make(key="key-a")
    source, token = source_make()
    return source, token


def test_an_image_event_is_rated_per_image_and_its_count_rolled_up(world):
    result = usage_batch_ingest(
        source=world[0], records=[event("img", model="gpt-image-audio", prompt=100, completion=0, images=2)]
    )
    assert (result.accepted, result.unrated) == (1, 0)
    row = UsageEvent.objects.get()
    # 100 × 1 per million + 2 × 0.04; cost 100 × 0.5 per million + 2 × 0.03.
    assert (row.images, row.sell_amount, row.cost_amount) == (2, Decimal("0.0801"), Decimal("0.06005"))
    daily = UsageDaily.objects.get()
    assert (daily.images, daily.sell_amount) == (2, Decimal("0.0801"))


def test_audio_seconds_are_stored_in_milliseconds_and_rated_per_second(world):
    usage_batch_ingest(
        source=world[0],
        records=[
            event("sec", model="gpt-image-audio", prompt=0, completion=0, audio_seconds="12.345"),
            event("ms", model="gpt-image-audio", prompt=0, completion=0, audio_ms=500, audio_seconds=0.5),
        ],
    )
    seconds, millis = UsageEvent.objects.get(request_id="sec"), UsageEvent.objects.get(request_id="ms")
    # 12.345 s × 0.0001; cost × 0.00005.
    assert (seconds.audio_ms, seconds.sell_amount, seconds.cost_amount) == (
        12345,
        Decimal("0.0012345"),
        Decimal("0.00061725"),
    )
    assert (millis.audio_ms, millis.sell_amount) == (500, Decimal("0.00005"))
    assert UsageDaily.objects.get().audio_ms == 12845


def test_audio_tokens_are_rated_at_the_audio_price_within_the_prompt(world):
    usage_batch_ingest(
        source=world[0],
        records=[event("aud", model="gpt-image-audio", prompt=1000, completion=10, audio_prompt_tokens=100)],
    )
    row = UsageEvent.objects.get()
    # 900 × 1 + 100 × 4 + 10 × 2 per million; cost 900 × 0.5 + 100 × 2 + 10 × 1.
    assert (row.audio_prompt_tokens, row.sell_amount, row.cost_amount) == (
        100,
        Decimal("0.00132"),
        Decimal("0.00066"),
    )


def test_images_on_a_model_without_an_image_price_are_kept_unrated_naming_images(world):
    result = usage_batch_ingest(
        source=world[0], records=[event("img", model="text-only", prompt=10, completion=0, images=1)]
    )
    assert (result.accepted, result.unrated) == (1, 1)
    row = UsageEvent.objects.get()
    assert row.rating_state == RatingState.UNRATED
    assert row.images == 1
    assert row.unrated_reason.startswith("not_rateable: images:")
    assert not UsageDaily.objects.exists()


def test_bad_unit_values_are_row_errors_with_their_field_and_the_good_rows_stay(world):
    records = [
        event("neg", model="gpt-image-audio", images=-1),
        event("places", model="gpt-image-audio", audio_seconds="1.2345"),
        event("audio", model="gpt-image-audio", prompt=10, audio_prompt_tokens=11),
        event("both", model="gpt-image-audio", audio_seconds="2", audio_ms=2001),
        event("float", model="gpt-image-audio", images=1.5),
        event("good", model="gpt-image-audio", images=1),
    ]
    result = usage_batch_ingest(source=world[0], records=records)
    assert (result.accepted, result.rejected) == (1, 5)
    fields = [(e["index"], e["field"]) for e in result.errors]
    assert fields == [
        (0, "images"),
        (1, "audio_seconds"),
        (2, "audio_prompt_tokens"),
        (3, "audio_seconds"),
        (4, "images"),
    ]
    assert result.errors[0]["reason"] == "must not be negative"
    assert result.errors[1]["reason"] == "must have at most 3 decimal places (milliseconds)"
    assert "exceed prompt_tokens" in result.errors[2]["reason"]
    assert result.errors[4]["reason"] == "must be a whole number of images"
    assert list(UsageEvent.objects.values_list("request_id", flat=True)) == ["good"]


def test_the_api_takes_the_unit_fields(world):
    token = world[1]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    body = [
        event(
            "api-1", model="gpt-image-audio", prompt=0, completion=0, audio_seconds=1.5, service_tier="Flex"
        ),
        event("api-2", model="gpt-image-audio", images="x"),
    ]
    response = client.post("/api/v1/usage/batches", body, format="json")
    assert response.status_code == 200
    data = response.json()
    assert (data["accepted"], data["rejected"]) == (1, 1)
    assert data["errors"] == [{"index": 1, "field": "images", "reason": "must be a whole number of images"}]
    row = UsageEvent.objects.get()
    assert (row.audio_ms, row.service_tier, row.sell_amount) == (1500, "flex", Decimal("0.00015"))


def test_upload_columns_carry_the_unit_fields():
    records = list(
        csv_records(
            io.BytesIO(
                b"request_id,images,audio_seconds,audio_ms,audio_prompt_tokens,service_tier\n"
                b"r1,2,1.250,,5,priority\n"
            )
        )
    )
    assert records == [
        {"request_id": "r1", "images": 2, "audio_seconds": "1.250", "audio_ms": None,
         "audio_prompt_tokens": 5, "service_tier": "priority"}
    ]  # fmt: skip
