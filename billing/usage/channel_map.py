"""Map upstream accounts to channels, keeping one invariant: **an event's cost sits on the account its
``upstream_account`` maps to now** — the channel's upstream prepaid (prepaid contract) or accrued (postpaid)
account when a channel names it (its name or an alias, case-insensitively), else the vendor's own account
(``postings.usage_cost_credit``, cost at the best cost book).

Rating posts each event's cost there, and corrections post their differences there (they resolve the
channel from the current mapping), so every change of what a name maps to must move the cost of the events
already stored under that name. ``upstream_account_recost(name=..., was=...)`` does it: every stored rated
event carrying the name that the operator sells (the event, or the top hop of a resale chain: the rows with
contract cost; a derived hop's cost is its seller's price and does not change) is re-rated at the current
mapping's cost; its old cost comes off ``was``'s account and its vendor's cost of tokens, the new one goes
onto the current account and its vendor's cost of tokens — only the difference posted, one journal
transaction per currency, so running it again posts nothing. It refuses, changing nothing, when the new
mapping cannot price an event that has a cost (no price, or no exchange rate). The run is recorded like a
correction's: a ``UsageBatch`` (its ``response`` says what moved), the changed events' ``rated_in`` set to
it, the rollups shifted by the same amounts (an event whose cost currency changes moves to the rollup row of
its new currency).

Every mapping change goes through here: ``channel_map`` (staff map an account, or move an alias from another
channel), and the channel pages' alias add and remove and channel create and rename (``mapped_*``). All run
under the channel-mapping lock (``resolve.channels_lock_exclusive``): the charging transactions that resolved
a name before the change commit first and are moved too; later ones see the new mapping.
"""

import copy
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Max, Min, Value
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind
from billing.ledger.services import Line, transaction_post
from billing.money import ledger_round
from billing.usage.models import TOKEN_COLUMNS, UNIT_COLUMNS, RatingState, UsageBatch, UsageDaily, UsageEvent
from billing.usage.postings import usage_cost_credit
from billing.usage.pricing import BatchPricer, Unpriced
from billing.usage.rating import units_of
from billing.usage.resolve import channels_lock_exclusive
from billing.usage.rollups import rollups_move
from catalog.models import AIModel, Channel, ChannelAlias
from catalog.rating import RatingError, rate_total
from catalog.selectors.channels import channels_resolve
from catalog.services.contracts import (
    channel_alias_add,
    channel_alias_remove,
    channel_create,
    channel_update,
)
from common.days import local_midnight
from common.stored_text import stored

FMT = "channel_map"


@dataclass(frozen=True)
class ChannelMapped:
    """What moving a name's usage did: the run (``batch``; None when nothing moved), how many events' cost
    moved and the cost moved, per currency (``moved_off``: off the account the name mapped to before;
    ``moved_on``: onto the one it maps to now)."""

    batch: UsageBatch | None
    events: int
    moved_off: dict[str, Decimal]
    moved_on: dict[str, Decimal]


NOTHING_MOVED = ChannelMapped(None, 0, {}, {})


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
            *("occurred_at", "customer_id", "model_id", "upstream_account", "is_batch", "rating_state"),
            *("sell_currency", "sell_amount", "cost_amount", "cost_currency", *TOKEN_COLUMNS),
            *("service_tier", "price_window", *UNIT_COLUMNS),
        )
        .order_by("occurred_at", "id")
        .select_for_update(of=("self",))
    )


def _new_costs(events: list[UsageEvent], channel: Channel | None, models: dict) -> list[tuple]:
    """Each event's cost under ``channel`` at its time (``event_rate``'s cost: the channel's contract, or the
    best cost book's on no channel), with its currency; (None, "", why) where it cannot be priced then."""
    pricer = BatchPricer(customers={}, models=models, start=events[0].occurred_at, end=events[-1].occurred_at)
    found = []
    for e in events:
        try:
            if channel is None:
                schedule = pricer.best_cost(e.model_id, e.occurred_at)
            else:
                schedule = pricer.channel_cost(channel, e.model_id, e.occurred_at)
            if schedule is None:
                found.append((None, "", _("no price")))
                continue
            counts = tuple(getattr(e, c) for c in TOKEN_COLUMNS)
            # The cost book's own time-of-day window and service tier price the event, as in event_rate.
            total = rate_total(schedule, *counts, e.is_batch, e.occurred_at, e.service_tier, units_of(e))
            found.append((total, schedule.currency, ""))
        except Unpriced as exc:
            found.append((None, "", exc.reason))
        except RatingError as exc:
            found.append((None, "", f"{exc.field}: {exc.message}"))
    return found


def _credit_account(channel: Channel | None, vendor) -> tuple[str, object, str]:
    """Where a cost under ``channel`` (None: no channel) is owed: (kind, vendor, reference)."""
    kind, owner = usage_cost_credit(channel, vendor)
    return kind, owner["vendor"], owner.get("reference", "")


def _lines(changes, was: Channel | None, now: Channel | None, models: dict) -> dict[str, list[Line]]:
    """The journal lines per currency: each event's old cost back off ``was``'s account and its vendor's
    cost of tokens, the new one onto ``now``'s; lines on one account netted, zero ones dropped."""
    sums: dict = defaultdict(Decimal)
    vendors: dict = {}
    for e, old, old_ccy, new, new_ccy in changes:
        model_vendor = models[e.model_id].vendor
        for channel, amount, currency, sign in ((was, old, old_ccy, -1), (now, new, new_ccy, 1)):
            if amount is None:
                continue
            kind, vendor, reference = _credit_account(channel, model_vendor)
            vendors[vendor.pk] = vendor
            sums[(AccountKind.COST_OF_TOKENS, currency, vendor.pk, "")] += sign * amount
            sums[(kind, currency, vendor.pk, reference)] -= sign * amount
    lines: dict = defaultdict(list)
    for (kind, currency, vendor_id, reference), amount in sorted(sums.items()):
        amount = ledger_round(amount)
        if amount:
            account = account_get(
                kind=kind, currency=currency, vendor=vendors[vendor_id], reference=reference
            )
            lines[currency].append(Line(account, amount, currency))
    return lines


def _rollups_shift(changes) -> None:
    """Move each changed event in the rollups from its old cost to its new one: its cost only, or, when its
    cost currency changes, the whole event from the rows of the old currency to those of the new one."""
    after = []
    for e, _old, _old_ccy, new, new_ccy in changes:
        now = copy.copy(e)
        now.cost_amount, now.cost_currency = new, new_ccy
        after.append(now)
    rollups_move(before=[e for e, *_rest in changes], after=after)


def _events_update(changes, batch: UsageBatch) -> None:
    """Store each changed event's new cost, and the run as what rated it last, in one statement (one per
    event on SQLite, the demo's database, which has no arrays)."""
    if connection.vendor != "postgresql":
        for event, _old, _old_ccy, cost, currency in changes:
            UsageEvent.objects.filter(pk=event.pk, occurred_at=event.occurred_at).update(
                cost_amount=cost, cost_currency=currency, rated_in_id=batch.pk
            )
        return
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


def _name(channel: Channel | None) -> str:
    return channel.name if channel is not None else "-"


def _refuse_unpriced(name: str, now: Channel | None, unpriced: dict, field: str) -> None:
    where = (
        _("channel %(channel)s") % {"channel": now.name}
        if now is not None
        else _("the best cost book (no channel)")
    )
    models = "; ".join(f"{model} ({why})" for model, why in sorted(unpriced.items()))
    raise ValidationError(
        {
            field: _(
                "Usage already stored under %(name)s cannot be costed at %(where)s: %(models)s. "
                "Add the price (or the exchange rate) first; nothing was changed."
            )
            % {"name": name, "where": where, "models": models}
        }
    )


@transaction.atomic
def upstream_account_recost(
    *, name: str, was: Channel | None, user=None, field: str = "upstream_account"
) -> ChannelMapped:
    """Move the cost of the stored events carrying ``name`` from ``was``'s account (None: the vendor's
    own) to the account ``name`` maps to now, re-rated at the current mapping's cost (see the module
    docstring). Call it right after changing the mapping, in the same transaction, with the lock held.

    Raises ValidationError (on ``field``) listing the models when the current mapping cannot price an
    event that has a cost: the caller's transaction rolls back, mapping included. An event without a
    cost that stays without one is left as it is. Posting only differences, a second call posts nothing.
    """
    channels_lock_exclusive()
    now = channels_resolve({name}).get(name.lower())
    if getattr(was, "pk", None) == getattr(now, "pk", None):
        return NOTHING_MOVED
    events = _events(name)
    if not events:
        return NOTHING_MOVED
    models = AIModel.objects.select_related("vendor").in_bulk({e.model_id for e in events})
    changes, unpriced = [], {}
    for e, (new, new_ccy, why) in zip(events, _new_costs(events, now, models), strict=True):
        if new is None and e.cost_amount is not None:
            unpriced[models[e.model_id].name] = why
        changes.append((e, e.cost_amount, e.cost_currency, new, new_ccy))
    if unpriced:
        _refuse_unpriced(name, now, unpriced, field)
    lines = _lines(changes, was, now, models)
    changed = [c for c in changes if (c[1], c[2]) != (c[3], c[4])]
    if not lines and not changed:
        return NOTHING_MOVED
    run = UsageBatch.objects.create(
        source=None,
        idempotency_key=f"{FMT}:{name.lower()[:120]}:{uuid.uuid4().hex}",
        request_hash="",
        fmt=FMT,
        received=len(events),
    )
    memo = f"Usage on upstream account {name} moved from {_name(was)} to {_name(now)}"[:500]
    memo_message = stored("usage.memo.channel_map", account=name, was=_name(was), now=_name(now))
    for currency, currency_lines in sorted(lines.items()):
        transaction_post(
            idempotency_key=f"channel-map:{run.pk}:{currency}",
            kind="usage.channel_map",
            lines=currency_lines,
            memo=memo,
            memo_message=memo_message,
            source=f"usage_batch:{run.pk}",
            actor=user,
        )
    if changed:
        _events_update(changed, run)
        _rollups_shift(changed)
    moved_off: dict = defaultdict(Decimal)
    moved_on: dict = defaultdict(Decimal)
    for _e, old, old_ccy, new, new_ccy in changes:
        if old is not None:
            moved_off[old_ccy] += old
        if new is not None:
            moved_on[new_ccy] += new
    run.accepted = len(changes)
    run.response = {
        "was": getattr(was, "pk", None),
        "was_name": _name(was),
        "channel": getattr(now, "pk", None),
        "channel_name": _name(now),
        "upstream_account": name,
        "by": getattr(user, "pk", None),
        "events": len(changes),
        "off": {c: format(a.normalize(), "f") for c, a in sorted(moved_off.items())},
        "on": {c: format(a.normalize(), "f") for c, a in sorted(moved_on.items())},
    }
    run.save(update_fields=["accepted", "response"])
    return ChannelMapped(run, len(changes), dict(moved_off), dict(moved_on))


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
    """Map ``upstream_account`` to ``channel`` — an alias of it, taken off the channel it was an alias of,
    if any — and move its stored usage's cost there (``upstream_account_recost``).

    Raises ValidationError (field ``upstream_account`` or ``channel``) when the account is blank, already
    maps to ``channel``, is another channel's own name (rename that channel first), its usage cannot be
    priced on ``channel``, or the channel is inactive."""
    account = _check(upstream_account, channel)
    channels_lock_exclusive()
    was = channels_resolve({account}).get(account.lower())
    if was is not None and was.pk == channel.pk:
        raise ValidationError(
            {
                "upstream_account": _("%(account)s already names channel %(channel)s.")
                % {"account": account, "channel": channel.name}
            }
        )
    if was is not None and was.name.lower() == account.lower():
        raise ValidationError(
            {
                "upstream_account": _(
                    "%(account)s is the name of channel %(channel)s: rename that channel first."
                )
                % {"account": account, "channel": was.name}
            }
        )
    if was is not None:
        channel_alias_remove(channel=was, alias=account)
    channel_alias_add(channel=channel, alias=account)
    return upstream_account_recost(name=account, was=was, user=user)


@transaction.atomic
def mapped_alias_add(*, channel: Channel, alias: str, user) -> tuple[ChannelAlias, ChannelMapped]:
    """Add ``alias`` to ``channel`` (``catalog`` refuses a name another channel has) and move the cost of
    the usage stored under it from the vendor's account to the channel's."""
    channels_lock_exclusive()
    was = channels_resolve({alias.strip()}).get(alias.strip().lower())
    added = channel_alias_add(channel=channel, alias=alias)
    return added, upstream_account_recost(name=added.alias, was=was, user=user, field="alias")


@transaction.atomic
def mapped_alias_remove(*, channel: Channel, alias: str, user) -> tuple[str, ChannelMapped]:
    """Remove ``alias`` from ``channel`` and move the cost of the usage stored under it back to the
    vendor's account at the best cost book; refused when that book cannot price it."""
    channels_lock_exclusive()
    removed = channel_alias_remove(channel=channel, alias=alias)
    return removed, upstream_account_recost(name=removed, was=channel, user=user, field="alias")


@transaction.atomic
def mapped_channel_create(*, user, **data) -> Channel:
    """Create a channel (``catalog.services.contracts.channel_create``) and move the usage already stored
    under its name and aliases, unmapped until now, onto it."""
    channels_lock_exclusive()
    created = channel_create(**data)
    for name in (created.name, *created.aliases.values_list("alias", flat=True)):
        upstream_account_recost(name=name, was=None, user=user, field="name")
    return created


@transaction.atomic
def mapped_channel_update(*, channel: Channel, user, **changes) -> Channel:
    """Change a channel (``channel_update``); renamed, the usage stored under its new name (unmapped until
    now) moves onto it. Its old name stays an alias, so the usage under it stays where it is."""
    channels_lock_exclusive()
    new_name = changes.get("name", channel.name).strip()
    was = channels_resolve({new_name}).get(new_name.lower())
    updated = channel_update(channel=channel, **changes)
    upstream_account_recost(name=updated.name, was=was, user=user, field="name")
    return updated
