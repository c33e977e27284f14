"""Reconciliation runs: compare every due channel × model × vendor day of a date range and store the result.

A day is *due* on a channel once the vendor's figures for it are complete: its end in the channel's
reporting zone plus ``reporting_lag_hours`` has passed. Days not yet due are left out of the run (and
counted, so the caller can say so); the daily job re-checks the recent days each night, so a day becomes
part of a run as soon as it is due.

Re-running with the same inputs changes nothing: the run's ``fingerprint`` hashes what was compared and
concluded (range, channel, base currency, every line's figures, class and value); a run with an equal
fingerprint is returned as it is and nothing is stored. Any changed input — a late vendor file, re-rated
usage, a new rate or price, other tolerances — changes a line and makes a new run.

Be careful changing the classification or its values: stored runs are not recomputed, and an unchanged
day would then get a new run with different figures for the same inputs.
"""

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.money import LEDGER_QUANTUM
from billing.upstream.models import ReconciliationLine, ReconciliationRun, ReconClass, UpstreamSettings
from billing.upstream.reconcile.alert_tasks import reconcile_alert_task
from billing.upstream.reconcile.classify import Tolerances, Verdict, classify_day
from billing.upstream.reconcile.figures import Figures, day_window, days_between
from billing.upstream.reconcile.ours import our_usage
from billing.upstream.reconcile.theirs import vendor_usage
from catalog.errors import MissingFxRate
from catalog.models import AIModel, Channel
from catalog.rating import RatingError
from catalog.selectors.channels import channel_cost
from catalog.selectors.fx import fx_rate
from catalog.selectors.pricing import PricingSnapshot
from common.outbox import task_queue_on_commit

MAX_DAYS = 366
MILLION = Decimal(1_000_000)


class ReconcileError(Exception):
    """A run that cannot be made as asked (a bad range, an unknown channel); the message says why."""


@dataclass
class Outcome:
    run: ReconciliationRun
    created: bool  # False: an equal earlier run was returned
    not_due: int  # channel-days of the range left out because the vendor's figures are not due yet


def day_due(channel: Channel, day: date, now: datetime) -> bool:
    """Whether the vendor's figures for ``day`` on ``channel`` are complete by ``now``."""
    return day_window(day, channel.reporting_zone)[1] + timedelta(hours=channel.reporting_lag_hours) <= now


def channels_for(channel: Channel | None = None) -> list[Channel]:
    """The channels a run compares (active ones, or the one asked for), with what pricing reads."""
    rows = Channel.objects.select_related(
        "contract__vendor", "contract__cost_book", "contract__list_book"
    ).prefetch_related("aliases")
    if channel is not None:
        return list(rows.filter(pk=channel.pk))
    return list(rows.filter(is_active=True))


def range_check(date_from: date, date_to: date) -> None:
    if date_from > date_to:
        raise ReconcileError(
            _("The range starts (%(start)s) after it ends (%(end)s).") % {"start": date_from, "end": date_to}
        )
    if (date_to - date_from).days >= MAX_DAYS:
        raise ReconcileError(_("Reconcile at most %(days)s days at a time.") % {"days": MAX_DAYS})


class _Prices:
    """Contract cost of vendor tokens per channel and day, and the day's rate to the base currency."""

    def __init__(self, models: dict[str, AIModel]):
        self.models = models
        self.snapshots: dict[datetime, PricingSnapshot] = {}
        self.rates: dict[tuple[str, date], Decimal] = {}

    def snapshot(self, at: datetime) -> PricingSnapshot:
        # Loaded on first use: only a line that does not match prices tokens, and most lines match.
        if at not in self.snapshots:
            self.snapshots[at] = PricingSnapshot(at, model_ids=[m.pk for m in self.models.values()])
        return self.snapshots[at]

    def pricer(self, channel: Channel, day: date):
        at = day_window(day, channel.reporting_zone)[0]

        def price(model_name: str, figures: Figures) -> Decimal | None:
            model = self.models.get(model_name)
            try:
                schedule = channel_cost(self.snapshot(at), channel, model) if model is not None else None
            except MissingFxRate:
                schedule = None  # no rate to the contract's currency yet: valued like an unpriced model
            if schedule is None:
                return None
            try:
                tier = schedule.tiers[schedule.tier_index(figures.total_input // max(figures.requests, 1))]
            except RatingError:
                tier = schedule.tiers[-1]
            per_class = tier.standard_prices()
            counts = (figures.input, figures.cache_read, figures.cache_write, figures.cache_write_1h)
            tokens = sum(n * p for n, p in zip(counts, per_class[:4], strict=True))
            return (tokens + figures.output * per_class[4]) / MILLION

        return price

    def to_base(self, currency: str, day: date) -> Decimal:
        key = (currency, day)
        if key not in self.rates:
            self.rates[key] = fx_rate(currency, settings.BASE_CURRENCY, day)
        return self.rates[key]


def _lines(days: dict[Channel, list[date]], tolerances: Tolerances) -> list[ReconciliationLine]:
    ours = our_usage(days)
    theirs, reported = vendor_usage(days)
    model_ids = {m for m, _f in ours.values()} | {m for m, _f in theirs.values() if m}
    models = {m.name: m for m in AIModel.objects.filter(pk__in=model_ids)}
    prices = _Prices(models)
    per_day: dict[tuple[int, date], tuple[dict, dict]] = defaultdict(lambda: ({}, {}))
    for (channel_id, name, day), (_m, figures) in ours.items():
        per_day[channel_id, day][0][name] = figures
    for (channel_id, name, day), (_m, figures) in theirs.items():
        per_day[channel_id, day][1][name] = figures
    channels = {c.pk: c for c in days}
    lines = []
    for (channel_id, day), (mine, vendor) in sorted(per_day.items()):
        channel = channels[channel_id]
        verdicts = classify_day(
            ours=mine,
            theirs=vendor,
            reported=(channel_id, day) in reported,
            tolerances=tolerances,
            price=prices.pricer(channel, day),
        )
        rate = prices.to_base(channel.contract.currency, day)
        lines.extend(_line(channel, day, v, rate, models) for v in verdicts)
    return lines


def _line(channel: Channel, day: date, verdict: Verdict, rate: Decimal, models) -> ReconciliationLine:
    model = models.get(verdict.model_name)
    return ReconciliationLine(
        channel=channel,
        model=model,
        model_name=verdict.model_name,
        day=day,
        klass=verdict.klass,
        ours=verdict.ours.as_json() if verdict.ours else {},
        theirs=verdict.theirs.as_json() if verdict.theirs else {},
        value=(verdict.value * rate).quantize(LEDGER_QUANTUM),
        detail=verdict.detail[:500],
        detail_message=verdict.detail_message,
    )


def totals_of(lines: list[ReconciliationLine]) -> dict:
    """Per class: how many lines and their value at stake; the whole value at stake and how many lines
    did not match."""
    classes = {k: {"lines": 0, "value": Decimal(0)} for k in ReconClass.values}
    for line in lines:
        classes[line.klass]["lines"] += 1
        classes[line.klass]["value"] += line.value
    at_stake = sum((c["value"] for k, c in classes.items() if k != ReconClass.MATCHED), Decimal(0))
    return {
        "classes": {k: {"lines": c["lines"], "value": str(c["value"])} for k, c in classes.items()},
        "at_stake": str(at_stake),
        "lines": len(lines),
        "flagged": len(lines) - classes[ReconClass.MATCHED]["lines"],
    }


def _fingerprint(date_from, date_to, channel, lines) -> str:
    content = {
        "range": [date_from.isoformat(), date_to.isoformat()],
        "channel": channel.pk if channel else None,
        "base": settings.BASE_CURRENCY,
        "lines": [
            [ln.channel.pk, ln.model_name, ln.day.isoformat(), ln.klass, ln.ours, ln.theirs, str(ln.value)]
            for ln in lines
        ],
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def reconcile(
    *,
    date_from: date,
    date_to: date,
    kind: str = ReconciliationRun.Kind.MANUAL,
    channel: Channel | None = None,
    user=None,
    now: datetime | None = None,
) -> Outcome:
    """Reconcile the due days of ``[date_from, date_to]`` on every active channel (or ``channel``).

    Returns the new run, or the equal earlier one. A missing exchange rate stores a failed run saying
    which; a bad range raises ``ReconcileError`` and stores nothing.
    """
    range_check(date_from, date_to)
    now = now or timezone.now()
    days: dict[Channel, list[date]] = {}
    not_due = 0
    for each in channels_for(channel):
        due = [d for d in days_between(date_from, date_to) if day_due(each, d, now)]
        not_due += (date_to - date_from).days + 1 - len(due)
        days[each] = due
    tolerances = Tolerances.of(UpstreamSettings.load())
    try:
        lines = _lines(days, tolerances)
    except MissingFxRate as exc:
        run = ReconciliationRun.objects.create(
            kind=kind,
            date_from=date_from,
            date_to=date_to,
            channel=channel,
            state=ReconciliationRun.State.FAILED,
            base_currency=settings.BASE_CURRENCY,
            error=exc.message,
            created_by=user,
            finished_at=timezone.now(),
        )
        return Outcome(run, True, not_due)
    fingerprint = _fingerprint(date_from, date_to, channel, lines)
    with transaction.atomic():
        # One run at a time decides whether it is new: the settings row is the lock.
        upstream = UpstreamSettings.objects.select_for_update().get(pk=UpstreamSettings.load().pk)
        existing = ReconciliationRun.objects.filter(
            fingerprint=fingerprint, state=ReconciliationRun.State.DONE
        ).first()
        if existing is not None:
            return Outcome(existing, False, not_due)
        totals = totals_of(lines)
        run = ReconciliationRun.objects.create(
            kind=kind,
            date_from=date_from,
            date_to=date_to,
            channel=channel,
            state=ReconciliationRun.State.DONE,
            fingerprint=fingerprint,
            totals=totals,
            base_currency=settings.BASE_CURRENCY,
            created_by=user,
            finished_at=timezone.now(),
        )
        for line in lines:
            line.run = run
        ReconciliationLine.objects.bulk_create(lines, batch_size=2000)
        if Decimal(totals["at_stake"]) > upstream.leakage_threshold:
            task_queue_on_commit(reconcile_alert_task, run.pk)
    return Outcome(run, True, not_due)
