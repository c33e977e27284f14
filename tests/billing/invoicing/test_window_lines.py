"""Invoice lines say how much of a model's usage was sold at off-peak prices, and carry image and audio units.

Usage is ingested for real (``window_usage``) on a DeepSeek-like plan: list less 10%, night window kept.
The line's amount is the rated sum, exactly as before; its details add what of it was off-peak.
"""

from datetime import date, datetime
from decimal import Decimal
from unittest import mock

import pytest

from billing.invoicing.close.services import close_period
from billing.invoicing.models import InvoiceLine
from billing.invoicing.periods import Period
from billing.invoicing.progressive import interim_lines
from billing.invoicing.upcoming import upcoming_invoices
from billing.money import ledger_round
from billing.terms.models import BillingTerms
from billing.terms.services import billing_terms_update
from tests.billing.invoicing.window_usage import (
    NIGHT_AT,
    PEAK_AT,
    credit_customer,
    ingest,
    rated_sum,
    windowed_catalog,
)
from tests.billing.usage.conftest import top_up

pytestmark = pytest.mark.django_db

OCT = {"issue_date": date(2026, 11, 1)}


@pytest.fixture
def customer():
    windowed_catalog()
    customer, source = credit_customer()
    # Peak: 1,234,567 × 1.8 + 345,678 × 7.2 per million = 4.7111022.
    ingest(source, at=PEAK_AT, prompt_tokens=1_234_567, completion_tokens=345_678)
    # Off-peak, twice: (1,500,000 + 500,000) × 0.9 + (600,000 + 400,000) × 3.6 per million = 5.4.
    ingest(source, at=NIGHT_AT, prompt_tokens=1_500_000, completion_tokens=600_000)
    ingest(source, at=NIGHT_AT, prompt_tokens=500_000, completion_tokens=400_000)
    customer.source = source
    return customer


def _line(customer, model="deepseek-chat") -> InvoiceLine:
    return InvoiceLine.objects.get(invoice__customer=customer, ai_model__name=model, invoice__kind="standard")


def test_a_line_with_peak_and_off_peak_usage_keeps_the_rated_amount_and_says_what_was_off_peak(customer):
    close_period("2026-10", **OCT)
    line = _line(customer)
    assert line.amount_exact == ledger_round(rated_sum(customer, "deepseek-chat")) == Decimal("10.1111022")
    assert line.amount == Decimal("10.11")
    assert line.quantity == 1_234_567 + 345_678 + 3_000_000
    assert line.details["tokens"] == {
        "input": 3_234_567,
        "cache_read": 0,
        "cache_write_5m": 0,
        "cache_write_1h": 0,
        "output": 1_345_678,
        "reasoning": 0,
    }
    night = line.details["windows"]["Off-peak"]
    assert night["tokens"] == {"input": 2_000_000, "output": 1_000_000}
    assert night["requests"] == 2
    assert Decimal(night["amount"]) == rated_sum(customer, "deepseek-chat", price_window="Off-peak")
    assert Decimal(night["amount"]) == Decimal("5.4")
    # The plan's prices, standard and in the window, scaled by the plan's 10% off list.
    assert line.details["unit_prices"]["input"] == "1.8" and line.details["unit_prices"]["output"] == "7.2"
    assert line.details["window_prices"]["Off-peak"]["input"] == "0.9"
    assert line.details["window_prices"]["Off-peak"]["output"] == "3.6"
    assert "image" not in line.details["unit_prices"]


def test_a_line_wholly_off_peak_has_one_window_and_no_standard_share():
    windowed_catalog()
    customer, source = credit_customer()
    ingest(source, at=NIGHT_AT, prompt_tokens=1_000_000, completion_tokens=0)
    close_period("2026-10", **OCT)
    line = _line(customer)
    assert line.amount_exact == Decimal("0.9")
    assert line.details["windows"] == {
        "Off-peak": {"tokens": {"input": 1_000_000}, "requests": 1, "amount": "0.900000000000"}
    }


def test_a_line_without_off_peak_usage_has_no_windows(customer):
    daytime, source = credit_customer("key-day")
    ingest(source, key="key-day", at=PEAK_AT, prompt_tokens=1_000_000, completion_tokens=10)
    close_period("2026-10", **OCT)
    assert "windows" not in _line(daytime).details


def test_late_off_peak_usage_lands_on_the_next_invoice_with_only_its_own_share(customer):
    close_period("2026-10", **OCT)
    # Usage of October delivered after its close, and November's own, off-peak and at peak.
    ingest(customer.source, at=NIGHT_AT, prompt_tokens=100_000, completion_tokens=0)
    ingest(
        customer.source,
        at=datetime(2026, 11, 3, 18, tzinfo=NIGHT_AT.tzinfo),
        prompt_tokens=0,
        completion_tokens=10_000,
    )
    ingest(
        customer.source,
        at=datetime(2026, 11, 3, 4, tzinfo=PEAK_AT.tzinfo),
        prompt_tokens=50_000,
        completion_tokens=0,
    )
    close_period("2026-11", issue_date=date(2026, 12, 1))
    november = InvoiceLine.objects.get(invoice__customer=customer, invoice__period="2026-11")
    # 100,000 × 0.9 + 10,000 × 3.6 per million off-peak; 50,000 × 1.8 at peak.
    assert november.amount_exact == Decimal("0.216")
    night = november.details["windows"]["Off-peak"]
    assert night["tokens"] == {"input": 100_000, "output": 10_000} and night["requests"] == 2
    assert Decimal(night["amount"]) == Decimal("0.126")


def test_a_switch_to_prepaid_on_the_night_splits_the_window_share_at_the_switch_instant():
    windowed_catalog()
    customer, source = credit_customer()
    ingest(source, at=NIGHT_AT, prompt_tokens=1_000_000)  # credit: a whole hour before the switch
    ingest(source, at=NIGHT_AT.replace(hour=19, minute=5), prompt_tokens=200_000)  # credit: in its hour
    with mock.patch("billing.terms.services.timezone.now", return_value=NIGHT_AT.replace(hour=19, minute=15)):
        billing_terms_update(customer=customer, values={"mode": BillingTerms.Mode.PREPAID})
    top_up(customer, Decimal("100"))
    ingest(source, at=NIGHT_AT.replace(hour=19, minute=30), prompt_tokens=700_000)  # the wallet's
    close_period("2026-10", **OCT)
    line = _line(customer)
    assert line.amount_exact == Decimal("1.08")  # 1,200,000 × 0.9 per million: the credit-time usage
    assert line.details["windows"]["Off-peak"] == {
        "tokens": {"input": 1_200_000},
        "requests": 2,
        "amount": "1.080000000000",
    }


def test_the_upcoming_invoice_and_an_interim_one_carry_the_same_window_share(customer):
    _period, [upcoming] = upcoming_invoices(customer, today=date(2026, 10, 20))
    [line] = upcoming.lines
    assert line.details["windows"]["Off-peak"]["tokens"] == {"input": 2_000_000, "output": 1_000_000}
    assert line.line_parts and line.amount == Decimal("10.11")

    # An interim invoice cut at 18:30 UTC: the night's events of 18:00 come from the raw events.
    cutoff = NIGHT_AT.replace(minute=30)
    span = Period(label="2026-10", start=date(2026, 10, 1), end=date(2026, 10, 13))
    [interim] = interim_lines(BillingTerms.objects.get(customer=customer), cutoff, span)
    assert interim.details["windows"]["Off-peak"]["requests"] == 2
    assert interim.amount_exact == Decimal("10.1111022")
    # Before the night: no window share at all.
    [early] = interim_lines(BillingTerms.objects.get(customer=customer), NIGHT_AT, span)
    assert early.amount_exact == Decimal("4.7111022") and "windows" not in early.model().details


def test_an_image_line_counts_images_apart_from_tokens_and_prices_them(customer):
    ingest(customer.source, at=PEAK_AT, model="gpt-image-1", prompt_tokens=100, images=3)
    ingest(
        customer.source,
        at=PEAK_AT,
        model="gpt-4o-transcribe",
        prompt_tokens=1_000,
        audio_prompt_tokens=400,
        audio_seconds="12.5",
        completion_tokens=20,
    )
    close_period("2026-10", **OCT)
    image = _line(customer, "gpt-image-1")
    # 100 × 4.5 per million + 3 × 0.036 per image.
    assert image.amount_exact == ledger_round(rated_sum(customer, "gpt-image-1")) == Decimal("0.10845")
    assert image.quantity == 100  # tokens only: the images are not tokens
    assert image.details["tokens"]["image"] == 3 and image.details["tokens"]["input"] == 100
    assert image.details["unit_prices"]["image"] == "0.036"

    audio = _line(customer, "gpt-4o-transcribe")
    assert audio.amount_exact == ledger_round(rated_sum(customer, "gpt-4o-transcribe"))
    tokens = audio.details["tokens"]
    # Input excludes the audio input tokens, which are a class of their own; audio counted in ms.
    assert (tokens["input"], tokens["audio_input"], tokens["audio_second"]) == (600, 400, 12_500)
    assert audio.quantity == 1_020  # 600 + 400 audio + 20 output tokens; not the 12,500 ms
    assert audio.details["unit_prices"]["audio_second"] == "0.0054"


def test_the_next_close_bills_only_the_images_not_billed_yet(customer):
    ingest(customer.source, at=PEAK_AT, model="gpt-image-1", prompt_tokens=100, images=3)
    close_period("2026-10", **OCT)
    ingest(customer.source, at=datetime(2026, 11, 3, 4, tzinfo=PEAK_AT.tzinfo), model="gpt-image-1", images=2)
    close_period("2026-11", issue_date=date(2026, 12, 1))
    november = InvoiceLine.objects.get(invoice__customer=customer, invoice__period="2026-11")
    assert november.details["tokens"]["image"] == 2 and november.details["tokens"]["input"] == 0
    assert november.amount_exact == Decimal("0.072") and november.quantity == 0
