"""Usage arriving after its day was burnt: drawn by the daily run's re-burn, never expensed as unused; a
correction after a pack expired tops its expiry up so nothing of it is left on the asset."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db.models import Sum

from accounts.models import StaffRole
from billing.ledger.models import AccountKind, JournalEntry, JournalTransaction
from billing.ledger.verify import ledger_problems
from billing.upstream.burn import burn_day
from billing.upstream.daily import upstream_daily_run
from billing.upstream.expiry import packs_expire
from billing.upstream.ledger_accounts import channel_account, vendor_expense
from billing.upstream.reburn import stale_days
from billing.usage.corrections import usage_correct
from billing.usage.models import UsageEvent
from catalog.models import PriceTier
from tests.billing.factories import staff
from tests.billing.upstream.ledger.conftest import buy

pytestmark = pytest.mark.django_db
K = AccountKind
FEB_1 = date(2026, 2, 1)


def run_mornings(first: date, last: date) -> None:
    day = first
    while day <= last:
        upstream_daily_run(day=day, alerts=False)
        day += timedelta(days=1)


def test_a_late_batch_for_a_burnt_day_is_drawn_not_expired(channel, usage):
    pack = buy(channel, "P1", "80", credit="100", expires=date(2026, 2, 10))
    usage(FEB_1, 1000)  # 3.000 at contract cost
    upstream_daily_run(day=FEB_1, alerts=False)  # the morning of Feb 2
    usage(FEB_1, 1000)  # a late batch for Feb 1
    assert stale_days(channel, date(2026, 1, 1), FEB_1) == [FEB_1]
    result = upstream_daily_run(day=date(2026, 2, 2), alerts=False)
    assert result.days_reburnt == 1
    assert stale_days(channel, date(2026, 1, 1), FEB_1) == []
    run_mornings(date(2026, 2, 3), date(2026, 2, 10))
    pack.refresh_from_db()
    # 6 of 100 used: 94 unused × 80/100 expensed, the asset back at zero
    assert (pack.used_credit, pack.expired_credit) == (Decimal(6), Decimal("75.2"))
    assert channel_account(channel, K.UPSTREAM_PREPAID).balance == 0
    assert vendor_expense(channel).balance == Decimal("4.8")  # 6 at the pack's price
    assert ledger_problems() == []


def test_expiry_burns_the_packs_changed_days_first(channel, usage):
    pack = buy(channel, "P1", "80", credit="100", expires=date(2026, 2, 10))
    usage(FEB_1, 1000)
    burn_day(channel=channel, day=FEB_1)
    usage(FEB_1, 1000)  # late, and no daily run in between
    packs_expire(today=date(2026, 2, 11))
    pack.refresh_from_db()
    assert (pack.used_credit, pack.expired_credit) == (Decimal(6), Decimal("75.2"))
    assert channel_account(channel, K.UPSTREAM_PREPAID).balance == 0


def _lower_the_contract_price_and_correct(day: date) -> None:
    """The contract price was typed three times too high: fix it and correct the day's usage (3 → 1)."""
    PriceTier.objects.filter(entry__book__name="cost-CNY").update(input=Decimal(1) / 3, output=Decimal(4) / 3)
    event = UsageEvent.objects.first()
    zone = ZoneInfo(settings.TIME_ZONE)
    usage_correct(
        customer=event.customer,
        model=event.model,
        since=datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC),
        until=datetime.combine(day, time(23), tzinfo=zone).astimezone(UTC),
        reason="price typo",
        actor=staff(StaffRole.FINANCE),
        idempotency_key="fix",
    )


def test_a_correction_after_the_pack_expired_tops_its_expiry_up(channel, usage):
    pack = buy(channel, "P1", "80", credit="100", expires=date(2026, 2, 10))
    usage(FEB_1, 1000)  # 3.000 at contract cost
    burn_day(channel=channel, day=FEB_1)
    packs_expire(today=date(2026, 2, 11))
    pack.refresh_from_db()
    assert pack.expired_credit == Decimal("77.6")
    _lower_the_contract_price_and_correct(FEB_1)
    burn_day(channel=channel, day=FEB_1)
    burn_day(channel=channel, day=FEB_1)  # re-run: nothing more
    pack.refresh_from_db()
    prepaid = channel_account(channel, K.UPSTREAM_PREPAID)
    assert pack.draws.aggregate(s=Sum("credit"))["s"] == Decimal(1)
    assert (pack.used_credit, pack.expired_credit) == (Decimal(1), Decimal("79.2"))  # 99 × 0.8
    assert JournalEntry.objects.filter(account=prepaid).aggregate(s=Sum("amount"))["s"] == 0
    assert JournalTransaction.objects.filter(kind="upstream.pack.expiry").count() == 2
    assert vendor_expense(channel).balance == Decimal("0.8")  # 1 at the pack's price
    assert ledger_problems() == []


def test_the_daily_run_finds_the_corrected_day_of_an_open_pack(channel, usage):
    pack = buy(channel, "P1", "80", credit="100", expires=date(2026, 3, 1))
    usage(FEB_1, 1000)
    upstream_daily_run(day=FEB_1, alerts=False)
    _lower_the_contract_price_and_correct(FEB_1)
    upstream_daily_run(day=date(2026, 2, 2), alerts=False)
    pack.refresh_from_db()
    assert pack.used_credit == Decimal(1)
    assert channel_account(channel, K.UPSTREAM_PREPAID).balance == Decimal("79.2")  # 80 − 1 × 0.8
