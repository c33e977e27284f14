"""Daily working-capital snapshots: taken from the ledger as of the day, idempotent, back-filled, and the
command and task that take them."""

import json
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from billing.exposure.models import CapitalSnapshot
from billing.exposure.snapshot_tasks import capital_live_task, capital_snapshot_task
from billing.exposure.snapshots import float_trend, snapshot_take, snapshots_refresh
from billing.receivables.services import payment_record
from demo.exposure import load as demo_snapshots
from tests.billing.exposure.test_figures import ledger_world
from tests.billing.factories import topup

pytestmark = pytest.mark.django_db


def _yesterday():
    return timezone.localdate() - timedelta(days=1)


def test_a_snapshot_holds_the_days_figures_and_retaking_it_replaces_the_row():
    world = ledger_world()
    day = _yesterday()

    first = snapshot_take(day)
    topup(world.prepaid, "1000", "later")  # effective today: not part of yesterday
    again = snapshot_take(day)

    assert CapitalSnapshot.objects.count() == 1 and again.pk == first.pk
    figures = again.figures
    assert figures["currencies"]["CNY"]["cash"].startswith("-300")
    assert figures["base"]["receivables"].startswith("100")
    assert figures["base"]["overdue"].startswith("100")
    assert figures["base_currency"] == "CNY" and figures["missing_rates"] == []
    assert set(figures["metrics"]) >= {"dso", "dpo", "cover_days", "ccc", "missing_rates"}
    assert figures["queues"] is not None  # yesterday: counted by the nightly job
    assert again.figures["ledger_mark"]["journal"] > first.figures["ledger_mark"]["journal"]  # the top-up
    moving = ("counted_at", "ledger_mark")
    assert {k: v for k, v in first.figures.items() if k not in moving} == {
        k: v for k, v in again.figures.items() if k not in moving
    }


def test_a_day_back_filled_later_has_no_work_queues_and_today_cannot_be_snapshotted():
    old = timezone.localdate() - timedelta(days=30)
    assert snapshot_take(old).figures["queues"] is None
    with pytest.raises(ValueError):
        snapshot_take(timezone.localdate())


def test_back_fill_takes_only_missing_days_and_the_trend_shows_gaps_until_then():
    day = _yesterday()
    snapshot_take(day - timedelta(days=2))
    trend = float_trend(day, days=5)
    assert trend["missing"] == 4 and trend["values"][2] is not None

    result = snapshots_refresh(until=day, days=5)

    assert len(result["taken"]) == 4 and day - timedelta(days=2) not in result["taken"]
    assert result["retaken"] == []
    assert CapitalSnapshot.objects.count() == 5
    assert float_trend(day, days=5)["missing"] == 0
    assert snapshots_refresh(until=day, days=5) == {"taken": [], "retaken": []}


def test_the_nightly_task_takes_yesterday_and_back_fills_the_window():
    result = capital_snapshot_task(days=4)
    assert result["day"] == _yesterday().isoformat() and len(result["taken"]) == 4
    assert CapitalSnapshot.objects.count() == 4
    assert capital_snapshot_task(days=4) == {"day": _yesterday().isoformat(), "taken": [], "retaken": []}


def test_the_nightly_refresh_retakes_the_days_a_late_posting_reaches_and_moves_the_others_marks_on():
    world = ledger_world()
    yesterday = _yesterday()
    snapshots_refresh(until=yesterday, days=5)
    marks = dict(CapitalSnapshot.objects.values_list("day", "figures__ledger_mark"))
    kept = CapitalSnapshot.objects.get(day=yesterday).figures["queues"]
    assert kept is not None

    # a payment received two days ago, entered now: that day and the later ones moved, not the earlier
    payment_record(
        customer=world.invoiced,
        amount=Decimal("25"),
        currency="CNY",
        received_on=yesterday - timedelta(days=1),
        reference="BANK-LATE",
        actor=world.finance,
        idempotency_key="late-pay",
    )
    result = capital_snapshot_task(days=5)

    assert result["taken"] == [] and result["retaken"] == [
        (yesterday - timedelta(days=1)).isoformat(),
        yesterday.isoformat(),
    ]
    after = {s.day: s for s in CapitalSnapshot.objects.all()}
    assert after[yesterday].figures["base"]["receivables"].startswith("75")
    assert after[yesterday - timedelta(days=2)].figures["base"]["receivables"].startswith("100")
    assert after[yesterday].figures["queues"] == kept  # recorded queues stay as recorded
    # the untouched days keep their figures, with their mark moved on to now
    moved = after[yesterday - timedelta(days=2)].figures["ledger_mark"]
    assert moved["allocation"] > marks[yesterday - timedelta(days=2)]["allocation"]
    assert moved == after[yesterday].figures["ledger_mark"]
    assert capital_snapshot_task(days=5)["retaken"] == []


def test_the_command_takes_a_day_or_a_range_and_answers_bad_dates_clearly():
    out = StringIO()
    since = timezone.localdate() - timedelta(days=3)
    call_command("capital_snapshots", "--since", since.isoformat(), "--format", "json", stdout=out)
    rows = json.loads(out.getvalue())["snapshots"]
    assert [r["day"] for r in rows] == [(since + timedelta(days=n)).isoformat() for n in range(3)]
    out = StringIO()
    call_command("capital_snapshots", "--day", since.isoformat(), stdout=out)
    assert "funded float 0" in out.getvalue() and "1 snapshot(s) taken." in out.getvalue()
    assert CapitalSnapshot.objects.count() == 3

    for args, message in (
        (["--day", "2026-02-30"], "--day: '2026-02-30' is not a date"),
        (["--day", timezone.localdate().isoformat()], "has not ended yet"),
        (["--since", "2000-01-01"], "at most"),
    ):
        with pytest.raises(CommandError, match=message):
            call_command("capital_snapshots", *args)


def test_the_demo_step_takes_the_last_90_days_and_a_second_run_changes_nothing():
    demo_snapshots()
    assert CapitalSnapshot.objects.count() == 90
    demo_snapshots()
    assert CapitalSnapshot.objects.count() == 90
    assert float_trend(timezone.localdate(), "0")["missing"] == 0


def test_todays_figures_are_cached_a_minute_refreshed_by_the_task_and_a_stale_copy_shown_while_refreshing(
    monkeypatch,
):
    from django.core.cache import cache

    from billing.exposure import snapshots

    cache.clear()
    customer = ledger_world().prepaid
    first = snapshots.live_payload()
    topup(customer, "1000", "after-first")
    assert snapshots.live_payload() == first  # within the minute: the cached copy

    # a minute later: another request already refreshing → the previous copy, not a wait
    monkeypatch.setattr(snapshots, "LIVE_SECONDS", 0)
    cache.add(snapshots._live_key() + ":refreshing", 1, 60)
    assert snapshots.live_payload() == first
    cache.delete(snapshots._live_key() + ":refreshing")
    # nobody refreshing: this request refreshes; the beat task does the same
    assert snapshots.live_payload()["base"]["cash"].startswith("1240")
    assert capital_live_task() == timezone.localdate().isoformat()
    cache.clear()
