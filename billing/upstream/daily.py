"""The upstream ledger's daily run: burn yesterday, expire packs, accrue shortfalls and rebates, true up
invoiced postpaid months for usage that arrived after their invoice, alert.

Order matters: yesterday is burnt, then every earlier day of the open packs whose consumption changed
since it was burnt (``reburn``: late batches, corrections); a pack is expired only after the last day it
could be drawn on has been burnt (again, when changed), and cover is measured after the day's postings.
Every step is re-run-safe (keys per day, pack, period, month), so the beat may fire twice and
``upstream_burn --day`` may replay any day.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from django.utils import timezone

from billing.upstream.alerts import cover_alerts
from billing.upstream.burn import burn_run
from billing.upstream.commitments import commitment_shortfalls_accrue
from billing.upstream.expiry import packs_expire
from billing.upstream.invoiced_months import invoiced_usage_true_up
from billing.upstream.reburn import reburn_run
from billing.upstream.volume_tiers import volume_rebates_post


@dataclass(frozen=True)
class DailyResult:
    day: date
    channels_burnt: int
    draws: int
    days_reburnt: int
    expired: int
    shortfalls: int
    rebates: int
    true_ups: int
    alerts: int


def upstream_daily_run(*, day: date | None = None, alerts: bool = True) -> DailyResult:
    """Run the upstream ledger for ``day`` (default yesterday) as the morning after it would."""
    today = (day + timedelta(days=1)) if day is not None else timezone.localdate()
    day = today - timedelta(days=1)
    burnt = burn_run(day=day)
    reburnt = reburn_run(today=today)
    expired = packs_expire(today=today)
    shortfalls = [s for s in commitment_shortfalls_accrue(today=today) if s.transaction is not None]
    previous_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    rebates = volume_rebates_post(month=previous_month, today=today)
    true_ups = invoiced_usage_true_up(today=today)
    alerted = cover_alerts(today=today) if alerts else []
    return DailyResult(
        day=day,
        channels_burnt=len(burnt),
        draws=sum(1 for draws in burnt.values() for d in draws if d.credit or d.tokens),
        days_reburnt=sum(len(days) for days in reburnt.values()),
        expired=len(expired),
        shortfalls=len(shortfalls),
        rebates=len(rebates),
        true_ups=len(true_ups),
        alerts=len(alerted),
    )
