"""How a credit interval is cut for the close: whole operator days, whole UTC hours, and the raw events of
the switch hours (pure: no database)."""

from datetime import UTC, date, datetime

from django.utils import timezone

from billing.invoicing.close.measure import Pieces, pieces

SWITCH = datetime(2026, 11, 10, 12, 30, tzinfo=UTC)
DEC_1 = datetime(2026, 11, 30, 16, tzinfo=UTC)  # midnight in Shanghai


def test_a_span_from_a_12_30_switch_to_the_month_end():
    with timezone.override("Asia/Shanghai"):
        cut = pieces(SWITCH, DEC_1)
    assert cut == Pieces(
        days=(date(2026, 11, 11), date(2026, 12, 1)),
        hours=((datetime(2026, 11, 10, 13, tzinfo=UTC), datetime(2026, 11, 10, 16, tzinfo=UTC)),),
        raw=((SWITCH, datetime(2026, 11, 10, 13, tzinfo=UTC)),),
    )


def test_a_span_up_to_a_switch_and_one_inside_an_hour():
    with timezone.override("Asia/Shanghai"):
        before = pieces(None, SWITCH)
        inside = pieces(datetime(2026, 11, 10, 12, 10, tzinfo=UTC), SWITCH)
    assert before == Pieces(
        days=(None, date(2026, 11, 10)),
        hours=((datetime(2026, 11, 9, 16, tzinfo=UTC), datetime(2026, 11, 10, 12, tzinfo=UTC)),),
        raw=((datetime(2026, 11, 10, 12, tzinfo=UTC), SWITCH),),
    )
    assert inside == Pieces(None, (), ((datetime(2026, 11, 10, 12, 10, tzinfo=UTC), SWITCH),))


def test_days_starting_on_the_half_hour_are_summed_by_the_hour():
    with timezone.override("Asia/Kolkata"):  # UTC+5:30: midnight is 18:30 UTC
        month_end = datetime(2026, 11, 30, 18, 30, tzinfo=UTC)
        cut = pieces(SWITCH, month_end)
    assert cut.days is None
    assert cut.hours == ((datetime(2026, 11, 10, 13, tzinfo=UTC), datetime(2026, 11, 30, 18, tzinfo=UTC)),)
    assert cut.raw == (
        (SWITCH, datetime(2026, 11, 10, 13, tzinfo=UTC)),
        (datetime(2026, 11, 30, 18, tzinfo=UTC), month_end),
    )
