"""BatchPricer.extend: one pricer widened slice by slice prices like a fresh pricer for each slice."""

from datetime import timedelta
from decimal import Decimal

import pytest

from billing.usage.pricing import BatchPricer
from billing.usage.resolve import customers_load
from catalog.models import BookKind, PriceEntry, PriceTier
from tests.billing.usage.factories import AT

pytestmark = pytest.mark.django_db


def test_widened_pricer_sees_a_price_change_in_the_new_part_of_the_window(prepaid, model):
    change = AT + timedelta(hours=5)
    old = PriceEntry.objects.get(model=model, book__kind=BookKind.SELL)
    old.effective_to = change
    old.save()
    new = PriceEntry.objects.create(book=old.book, model=model, effective_from=change)
    PriceTier.objects.create(entry=new, lo=0, input=Decimal("3"), output=Decimal("9"))
    customers = customers_load({prepaid.pk})

    pricer = BatchPricer(customers=customers, models={model.pk: model}, start=AT, end=AT + timedelta(hours=1))
    before = pricer.prices(prepaid.pk, model.pk, AT + timedelta(minutes=30))
    pricer.extend(start=AT + timedelta(hours=2), end=AT + timedelta(hours=8))
    after = pricer.prices(prepaid.pk, model.pk, AT + timedelta(hours=6))
    pricer.extend(start=AT - timedelta(hours=3), end=AT)
    earlier = pricer.prices(prepaid.pk, model.pk, AT - timedelta(hours=2))

    fresh = BatchPricer(
        customers=customers,
        models={model.pk: model},
        start=AT + timedelta(hours=6),
        end=AT + timedelta(hours=7),
    )
    assert after.sell == fresh.prices(prepaid.pk, model.pk, AT + timedelta(hours=6)).sell
    assert before.sell != after.sell
    assert earlier.sell == before.sell
    assert pricer.covers(customer_ids={prepaid.pk}, model_ids={model.pk})
    assert not pricer.covers(customer_ids={prepaid.pk, 10**9}, model_ids={model.pk})


def test_forgetting_past_segments_keeps_memory_bounded_and_prices_right(prepaid, model):
    """Midnights split segments: after forget_before(day 3) only day 3's prices are held, and asking for
    day 1 again looks them up again, the same."""
    customers = customers_load({prepaid.pk})
    pricer = BatchPricer(customers=customers, models={model.pk: model}, start=AT, end=AT + timedelta(days=3))
    day1 = pricer.prices(prepaid.pk, model.pk, AT)
    pricer.prices(prepaid.pk, model.pk, AT + timedelta(days=2, hours=1))

    pricer.forget_before(AT + timedelta(days=2, hours=1))

    segments = {key[2] for key in pricer._by_customer} | set(pricer._snapshots)
    assert segments and min(segments) > AT + timedelta(days=1)
    assert pricer.prices(prepaid.pk, model.pk, AT).sell == day1.sell


def test_segment_of_a_time_is_found_the_same_in_any_order(prepaid, model):
    """The segment remembered from the last event never answers for a time outside it: times before,
    on and after each change point (midnights here), in time order and shuffled, get the segment a
    search of the change points gives."""
    import bisect
    import random

    customers = customers_load({prepaid.pk})
    pricer = BatchPricer(customers=customers, models={model.pk: model}, start=AT, end=AT + timedelta(days=3))
    points = pricer.points
    assert len(points) >= 4
    times = [AT - timedelta(days=1)] + [p + timedelta(microseconds=d) for p in points for d in (-1, 0, 1)]
    times.append(AT + timedelta(days=9))

    def searched(at):
        return points[max(bisect.bisect_right(points, at) - 1, 0)]

    for order in (times, random.Random(7).sample(times, len(times)), times[::-1]):
        assert [pricer._segment(at) for at in order] == [searched(at) for at in order]
