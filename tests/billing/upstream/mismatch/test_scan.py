"""The scan: idempotent upserts by key, states kept, stale open flags removed; the command and the task."""

from datetime import date, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from billing.upstream.mismatch import reported
from billing.upstream.mismatch.services import (
    mismatch_flag_state_set,
    mismatch_scan,
    mismatch_scan_recent,
    scan_days_check,
)
from billing.upstream.mismatch.tasks import mismatch_scan_task
from billing.upstream.models import MismatchFlag
from tests.billing.upstream.mismatch.factories import DAY, at, record, vendor_row

pytestmark = pytest.mark.django_db

M = 1_000_000


def _wrong(world, n, *, prefix="w", channel="ant-a"):
    world.ingest(
        [record(f"{prefix}{i}", channel=channel, when=at(DAY, 8, i), reported="glm-4.6") for i in range(n)]
    )


@pytest.fixture
def flagged(world):
    """A reported-model flag on ant-a and a price-table flag on ant-b."""
    _wrong(world, 5)
    vendor_row(world.channels[1], world.haiku, cost="90", input_tokens=M, output_tokens=M)
    return world


def _snapshot():
    return {
        (f.channel_id, f.model_name, f.day, f.signal): (f.score, f.detail, f.evidence, f.state, f.last_seen)
        for f in MismatchFlag.objects.all()
    }


def test_re_running_changes_nothing(flagged):
    first = mismatch_scan(date_from=DAY, date_to=DAY)
    before = _snapshot()
    again = mismatch_scan(date_from=DAY, date_to=DAY)
    assert (first.created, again.created, again.updated, again.unchanged, again.removed) == (2, 0, 0, 2, 0)
    assert _snapshot() == before  # not even last_seen moved


def test_new_evidence_updates_the_flag_and_keeps_its_state_and_note(flagged):
    mismatch_scan(date_from=DAY, date_to=DAY)
    flag = MismatchFlag.objects.get(signal=MismatchFlag.Signal.REPORTED_MODEL)
    mismatch_flag_state_set(flag=flag, state=MismatchFlag.State.DISPUTED, note="Ticket 42 with the vendor")
    _wrong(flagged, 3, prefix="late")  # late usage of the same day
    result = mismatch_scan(date_from=DAY, date_to=DAY)
    flag.refresh_from_db()
    assert (result.updated, flag.evidence["mismatched"], flag.state, flag.note) == (
        1,
        8,
        MismatchFlag.State.DISPUTED,
        "Ticket 42 with the vendor",
    )


def test_flags_the_data_no_longer_supports_go_unless_staff_acted_on_them(flagged, monkeypatch):
    mismatch_scan(date_from=DAY, date_to=DAY)
    price = MismatchFlag.objects.get(signal=MismatchFlag.Signal.PRICE_TABLE)
    mismatch_flag_state_set(flag=price, state=MismatchFlag.State.DISMISSED, note="Known promo price")
    # Neither signal holds any more (a higher minimum count; the vendor's row re-imported at the right price).
    monkeypatch.setattr(reported, "REPORTED_MIN_EVENTS", 100)
    from billing.upstream.models import VendorUsage

    VendorUsage.objects.update(cost=Decimal(6))
    result = mismatch_scan(date_from=DAY, date_to=DAY)
    assert result.removed == 1
    assert list(MismatchFlag.objects.values_list("signal", "state")) == [
        (MismatchFlag.Signal.PRICE_TABLE, MismatchFlag.State.DISMISSED)
    ]


def test_days_outside_the_range_are_left_alone(flagged):
    mismatch_scan(date_from=DAY, date_to=DAY)
    result = mismatch_scan(date_from=DAY + timedelta(days=1), date_to=DAY + timedelta(days=3))
    assert (result.removed, MismatchFlag.objects.count()) == (0, 2)


def test_state_changes_need_a_known_state_and_a_reason_to_dismiss(flagged):
    mismatch_scan(date_from=DAY, date_to=DAY)
    flag = MismatchFlag.objects.first()
    with pytest.raises(ValidationError) as error:
        mismatch_flag_state_set(flag=flag, state=MismatchFlag.State.DISMISSED, note="  ")
    assert "note" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        mismatch_flag_state_set(flag=flag, state="lost")
    assert "state" in error.value.message_dict
    flag.refresh_from_db()
    assert flag.state == MismatchFlag.State.OPEN


def test_scan_range_is_checked():
    with pytest.raises(ValidationError, match="before the first"):
        scan_days_check(date(2026, 5, 2), date(2026, 5, 1))
    with pytest.raises(ValidationError, match="at most 366"):
        scan_days_check(date(2025, 1, 1), date(2026, 1, 2))


def test_command_prints_the_counts_and_refuses_bad_dates(flagged):
    out = StringIO()
    call_command("mismatch_scan", "--from", DAY.isoformat(), "--to", DAY.isoformat(), stdout=out)
    assert out.getvalue().strip() == "2026-05-20..2026-05-20: 2 new, 0 changed, 0 unchanged, 0 removed flags"
    with pytest.raises(CommandError, match="--from: '20-05-2026' is not a date"):
        call_command("mismatch_scan", "--from", "20-05-2026", "--to", DAY.isoformat())
    with pytest.raises(CommandError, match="before the first"):
        call_command("mismatch_scan", "--from", DAY.isoformat(), "--to", "2026-05-01")


def test_the_nightly_task_scans_the_past_week(flagged, monkeypatch):
    result = mismatch_scan_recent(today=DAY + timedelta(days=1))
    assert (result.date_from, result.date_to, result.created) == (DAY - timedelta(days=6), DAY, 2)
    monkeypatch.setattr("django.utils.timezone.localdate", lambda: DAY + timedelta(days=3))
    assert mismatch_scan_task() == {
        "from": "2026-05-16",
        "to": "2026-05-22",
        "created": 0,
        "updated": 0,
        "unchanged": 2,
        "removed": 0,
    }
