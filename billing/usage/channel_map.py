"""Map an upstream account nobody had mapped to a channel, and move its past usage's cost onto it.

Usage on an upstream account that no channel names is rated at the best cost book and its cost owed on the
vendor's own account (``postings.usage_cost_credit``). Mapping the account (``channel_map``) adds it as an
alias of the channel — later events resolve to the channel — and re-rates the *cost* of every stored event
that carries it and that the operator sells (the event, or the top hop of a resale chain: the rows with
contract cost; a derived hop's cost is its seller's price and does not change). Only the difference is
posted, one journal transaction per currency: the old cost comes off the vendor's account and out of its
cost of tokens, the channel's cost goes to the contract vendor's cost of tokens and onto the channel's
upstream prepaid (prepaid contract) or accrued (postpaid) account.

The run is recorded like a correction's: a ``UsageBatch`` (its ``response`` says what moved), the events'
``rated_in`` set to it, the rollups shifted by the same amounts (an event whose cost currency changes moves
to the rollup row of its new currency). One run per upstream account: mapping it again posts nothing.
Under the channel-mapping lock (``resolve.channels_lock_exclusive``): the charging transactions that
resolved the account before the alias existed commit first and are moved too; later ones see the alias.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Max, Min, Value
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind
from billing.ledger.services import Line, transaction_post
from billing.money import ledger_round
from billing.usage.models import TOKEN_COLUMNS, RatingState, UsageBatch, UsageDaily, UsageEvent
from billing.usage.postings import usage_cost_credit
from billing.usage.pricing import BatchPricer
from billing.usage.resolve import channels_lock_exclusive
from billing.usage.rollups import COUNT_FIELDS, KEY_FIELDS
from catalog.models import AIModel, Channel
from catalog.rating import RatingError, rate_total
from catalog.selectors.channels import channels_resolve
from catalog.services.contracts import channel_alias_add
from common.days import local_midnight

FMT = "channel_map"
ZERO = Decimal(0)


@dataclass(frozen=True)
class ChannelMapped:
    """What mapping an upstream account did: the run (``batch``), how many events' cost moved and the
    cost moved, per currency (``moved_off``: off the vendor's account; ``moved_on``: onto the channel's);
    ``replayed``: the account had been mapped to this channel before, and nothing was posted now."""

    batch: UsageBatch
    events: int
    moved_off: dict[str, Decimal]
    moved_on: dict[str, Decimal]
    replayed: bool = False


def _run_key(account: str) -> str:
    return f"channel-map:{account.lower()}"[:200]


def _replay(run: UsageBatch, channel: Channel, account: str) -> ChannelMapped:
    if run.response.get("channel") != channel.pk:
        raise ValidationError(
            {
                "upstream_account": _(
                    "%(account)s was mapped to channel %(other)s already, and its usage moved there; "
                    "moving usage between channels is not done here."
                )
                % {"account": account, "other": run.response.get("channel_name", "?")}
            }
        )
    as_decimals = {k: {c: Decimal(a) for c, a in run.response.get(k, {}).items()} for k in ("off", "on")}
    return ChannelMapped(run, run.accepted, as_decimals["off"], as_decimals["on"], replayed=True)


def _events(account: str) -> list[UsageEvent]:
    """The stored rated events that carry ``account`` (any spelling) and whose cost is the operator's
    contract cost, locked. Found through the daily rollups first (the days, customers and spellings), so
    only those partitions and customers' rows are read, not every event ever stored."""
    daily = (
        UsageDaily.objects.annotate(account=Lower("upstream_account"))
        .filter(account=Lower(Value(account)), customer__seller__isnull=True)
        .values_list("upstream_account", "customer_id")
    )
    spellings, customers = set(), set()
    for spelling, customer_id in daily:
        spellings.add(spelling)
        customers.add(customer_id)
    if not customers:
        return []
    days = UsageDaily.objects.filter(upstream_account__in=spellings, customer_id__in=customers).aggregate(
        first=Min("day"), last=Max("day")
    )
    # Daily rollups are the operator's local days.
    since, until = local_midnight(days["first"]), local_midnight(days["last"] + timedelta(days=1))
    return list(
        UsageEvent.objects.filter(
            upstream_account__in=spellings,
            customer_id__in=customers,
            customer__seller__isnull=True,
            rating_state=RatingState.RATED,
            occurred_at__gte=since,
            occurred_at__lt=until,
        )
        # What re-rating the cost reads and the rollups are keyed by: not the gateway's metadata (~1 KB).
        .only(
            *("occurred_at", "customer_id", "model_id", "upstream_account", "is_batch"),
            *("sell_currency", "sell_amount", "cost_amount", "cost_currency", *TOKEN_COLUMNS),
        )
        .order_by("occurred_at", "id")
        .select_for_update(of=("self",))
    )


def _new_costs(events: list[UsageEvent], channel: Channel) -> list[tuple[Decimal | None, str]]:
    """Each event's cost on ``channel`` at its time (``event_rate``'s cost for a mapped channel), with
    its currency; (None, "") where the contract prices no such model then."""
    models = AIModel.objects.select_related("vendor").in_bulk({e.model_id for e in events})
    pricer = BatchPricer(customers={}, models=models, start=events[0].occurred_at, end=events[-1].occurred_at)
    found = []
    for e in events:
        schedule = pricer.channel_cost(channel, e.model_id, e.occurred_at)
        if schedule is None:
            found.append((None, ""))
            continue
        try:
            counts = tuple(getattr(e, c) for c in TOKEN_COLUMNS)
            found.append((rate_total(schedule, *counts, e.is_batch, e.occurred_at), schedule.currency))
        except RatingError:
            found.append((None, ""))
    return found


def _lines(off: dict, on: dict, channel: Channel, vendors: dict) -> dict[str, list[Line]]:
    """The journal lines per currency: the old cost back off each vendor's account and cost of tokens,
    the new one onto the channel's; lines on one account netted, zero ones dropped."""
    sums: dict = defaultdict(Decimal)
    for (vendor_id, currency), amount in off.items():
        kind, _owner = usage_cost_credit(None, vendors[vendor_id])
        sums[(AccountKind.COST_OF_TOKENS, currency, vendor_id, "")] -= amount
        sums[(kind, currency, vendor_id, "")] += amount
    kind, owner = usage_cost_credit(channel, None)
    for currency, amount in on.items():
        sums[(AccountKind.COST_OF_TOKENS, currency, owner["vendor"].pk, "")] += amount
        sums[(kind, currency, owner["vendor"].pk, owner["reference"])] -= amount
    vendors = {**vendors, owner["vendor"].pk: owner["vendor"]}
    lines: dict = defaultdict(list)
    for (kind, currency, vendor_id, reference), amount in sorted(sums.items()):
        amount = ledger_round(amount)
        if amount:
            account = account_get(
                kind=kind, currency=currency, vendor=vendors[vendor_id], reference=reference
            )
            lines[currency].append(Line(account, amount, currency))
    return lines


def _rollup_deltas(changes) -> dict:
    """Per (table, bucket, rollup key): what the rollup row gains (negative: loses) when each changed
    event's cost is replaced — its cost only, or, when its cost currency changes, the whole event leaving
    the row of the old currency for the row of the new one."""
    deltas: dict = defaultdict(lambda: [0] * len(COUNT_FIELDS) + [ZERO, ZERO])
    for e, old, old_ccy, new, new_ccy in changes:
        at = e.occurred_at.astimezone(UTC)
        buckets = (
            ("usage_hourly", "hour", at.replace(minute=0, second=0, microsecond=0)),
            ("usage_daily", "day", timezone.localtime(at).date()),
        )
        counts = (1, *(getattr(e, c) for c in TOKEN_COLUMNS), e.sell_amount or ZERO)
        for table, name, bucket in buckets:
            key = (e.customer_id, e.model_id, e.upstream_account, e.sell_currency)
            if old_ccy == new_ccy:
                deltas[(table, name, bucket, *key, old_ccy)][-1] += (new or ZERO) - (old or ZERO)
                continue
            leaving = deltas[(table, name, bucket, *key, old_ccy)]
            arriving = deltas[(table, name, bucket, *key, new_ccy)]
            for i, value in enumerate(counts):
                leaving[i] -= value
                arriving[i] += value
            leaving[-1] -= old or ZERO
            arriving[-1] += new or ZERO
    return deltas


def _rollups_shift(changes) -> None:
    """Apply ``_rollup_deltas`` (rows in key order, as every rollup writer locks them); drop the rows
    left with no request (all their events moved to another cost currency)."""
    fields = (*COUNT_FIELDS, "sell_amount", "cost_amount")
    with connection.cursor() as cursor:
        for (table, name, bucket, *key), values in sorted(
            _rollup_deltas(changes).items(), key=lambda kv: (kv[0][0] != "usage_hourly", kv[0][1:])
        ):
            if not any(values):
                continue
            columns = (name, *KEY_FIELDS, *fields)
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))}) "
                f"ON CONFLICT ({name}, {', '.join(KEY_FIELDS)}) DO UPDATE SET "
                + ", ".join(f"{f} = {table}.{f} + excluded.{f}" for f in fields),
                [bucket, *key, *values],
            )
            if values[0] < 0:
                cursor.execute(
                    f"DELETE FROM {table} WHERE {name} = %s AND "
                    + " AND ".join(f"{k} = %s" for k in KEY_FIELDS)
                    + " AND requests = 0",
                    [bucket, *key],
                )


def _events_update(changes, batch: UsageBatch) -> None:
    """Store each changed event's new cost, and the run as what rated it last, in one statement."""
    with connection.cursor() as cursor:
        times = [e.occurred_at for e, *_rest in changes]
        cursor.execute(
            "UPDATE usage_event e SET cost_amount = v.cost, cost_currency = v.ccy, rated_in_id = %s "
            "FROM unnest(%s::bigint[], %s::timestamptz[], %s::numeric[], %s::text[]) AS v(id, at, cost, ccy) "
            "WHERE e.id = v.id AND e.occurred_at = v.at AND e.occurred_at BETWEEN %s AND %s",
            [
                batch.pk,
                [e.pk for e, *_rest in changes],
                times,
                [new for _e, _old, _occ, new, _ncc in changes],
                [ccy for *_rest, ccy in changes],
                min(times),
                max(times),
            ],
        )


def _check(account: str, channel: Channel) -> str:
    account = (account or "").strip()
    if not account:
        raise ValidationError({"upstream_account": _("Name the upstream account to map.")})
    if not channel.is_active:
        raise ValidationError(
            {"channel": _("Channel %(channel)s is not active.") % {"channel": channel.name}}
        )
    return account


@transaction.atomic
def channel_map(*, upstream_account: str, channel: Channel, user) -> ChannelMapped:
    """Map ``upstream_account`` to ``channel`` (an alias of it) and move its stored usage's cost there.

    Raises ValidationError (field ``upstream_account`` or ``channel``) when the account is blank, already
    names another channel, was mapped to another channel before, or the channel is inactive. A second call
    for the same account and channel posts nothing and returns the first run (``replayed``)."""
    account = _check(upstream_account, channel)
    channels_lock_exclusive()
    run = UsageBatch.objects.filter(source=None, fmt=FMT, idempotency_key=_run_key(account)).first()
    if run is not None:
        return _replay(run, channel, account)
    named = channels_resolve({account}).get(account.lower())
    if named is not None and named.pk != channel.pk:
        raise ValidationError(
            {
                "upstream_account": _("%(account)s already names channel %(channel)s.")
                % {"account": account, "channel": named.name}
            }
        )
    if named is None:
        channel_alias_add(channel=channel, alias=account)
    channel = channels_resolve({account})[account.lower()]  # its contract and vendor loaded
    events = _events(account)
    run = UsageBatch.objects.create(
        source=None,
        idempotency_key=_run_key(account),
        request_hash="",
        fmt=FMT,
        received=len(events),
    )
    changes = []
    if events:
        for e, (new, new_ccy) in zip(events, _new_costs(events, channel), strict=True):
            changes.append((e, e.cost_amount, e.cost_currency, new, new_ccy))
    off: dict = defaultdict(Decimal)  # by (model's vendor, currency)
    on: dict = defaultdict(Decimal)  # by currency
    vendors = {}
    models = AIModel.objects.select_related("vendor").in_bulk({e.model_id for e in events})
    for e, old, old_ccy, new, new_ccy in changes:
        vendor = models[e.model_id].vendor
        vendors[vendor.pk] = vendor
        if old is not None:
            off[(vendor.pk, old_ccy)] += old
        if new is not None:
            on[new_ccy] += new
    memo = f"Usage on upstream account {account} mapped to channel {channel.name}"[:500]
    for currency, lines in sorted(_lines(off, on, channel, vendors).items()):
        transaction_post(
            idempotency_key=f"channel-map:{run.pk}:{currency}",
            kind="usage.channel_map",
            lines=lines,
            memo=memo,
            source=f"usage_batch:{run.pk}",
            actor=user,
        )
    if changes:
        _events_update(changes, run)
        _rollups_shift(changes)
    moved_off: dict = defaultdict(Decimal)
    for (_vendor, currency), amount in off.items():
        moved_off[currency] += amount
    run.accepted = len(changes)
    run.response = {
        "channel": channel.pk,
        "channel_name": channel.name,
        "upstream_account": account,
        "by": getattr(user, "pk", None),
        "events": len(changes),
        "off": {c: format(a.normalize(), "f") for c, a in sorted(moved_off.items())},
        "on": {c: format(a.normalize(), "f") for c, a in sorted(on.items())},
    }
    run.save(update_fields=["accepted", "response"])
    return ChannelMapped(run, len(changes), dict(moved_off), dict(on))
