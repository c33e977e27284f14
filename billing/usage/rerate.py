"""Re-rate unrated events once their cause is fixed (a new key mapping, alias, plan or price).

Re-rated events are charged like new ones, under the terms in force when they happened: traffic that
arrived under a key mapped only later, before the customer's first span, is charged under that first
span's mode (``billing.usage.timeline``). An event's key candidates are tried again in order (its key, then
the ``key_fallbacks`` kept in its metadata): the one that names a customer now becomes its gateway key.

Be careful: this is the one place raw events change after they are stored, and only from *unrated* to
*rated*/*not charged*; the update is guarded by that state, so an event is charged exactly once. An event
of a customer sold through the chain gets its derived rows (``rating``: one per hop) when, and only when,
its own row's update succeeds.
"""

import uuid

from django.db import connection, transaction

from billing.usage.allowance_use import rows_draw
from billing.usage.charging import BatchResult, Charged, row_groups, usage_batch_finish, usage_charge
from billing.usage.events import CanonicalEvent
from billing.usage.models import (
    TOKEN_COLUMNS,
    UNIT_COLUMNS,
    GatewaySource,
    RatingState,
    UsageBatch,
    UsageEvent,
)
from billing.usage.postings import sums_post
from billing.usage.rating import RATED
from billing.usage.rollups import rollups_add
from billing.usage.services import RatedEvents, events_rate, hop_rows
from billing.usage.timeline import Timeline

# What re-rating may change in a stored event.
RATING_FIELDS = (
    "customer_id", "model_id", "rating_state", "unrated_reason", "sell_plan", "sell_amount", "sell_currency",
    "cost_amount", "cost_currency",
)  # fmt: skip


def _as_event(index: int, row: UsageEvent) -> CanonicalEvent:
    # An unrated event's key is its first candidate; the others were kept in its metadata.
    kept = row.metadata.get("key_fallbacks") if isinstance(row.metadata, dict) else None
    fallbacks = tuple(k for k in kept if isinstance(k, str)) if isinstance(kept, list) else ()
    return CanonicalEvent(
        index=index,
        request_id=row.request_id,
        occurred_at=row.occurred_at,
        key=row.gateway_key,
        key_fallbacks=fallbacks,
        model=row.model_name,
        upstream_account=row.upstream_account,
        **{c: getattr(row, c) for c in (*TOKEN_COLUMNS, *UNIT_COLUMNS)},
        service_tier=row.service_tier,
        batch=row.is_batch,
        succeeded=row.succeeded,
    )


def _rerate_group(
    *, rows: list[UsageEvent], source: GatewaySource | None, batch: UsageBatch
) -> tuple[RatedEvents, dict[int, list[UsageEvent]]]:
    """Re-rate rows of one source (keys map to customers per source) in memory; return what rated them
    and the derived rows (not saved) of those that now rate through a chain, by their row's id."""
    rating = events_rate(events=[_as_event(i, row) for i, row in enumerate(rows)], source=source)
    derived = {}
    for row, rated, key in zip(rows, rating.rated, rating.keys, strict=True):
        for name, value in zip(RATING_FIELDS, rated[: len(RATING_FIELDS)], strict=True):
            setattr(row, name, value)
        row.gateway_key = key  # the candidate that named the customer now, as ingest stores it
        row.price_window = rated.window
        # A rated (or not charged) event has no reason left: its message goes with it.
        row.unrated_message = rated.message
        if rated.state == RATED:
            row.rated_in_id = batch.pk
            if rated.hops:
                derived[row.pk] = hop_rows(row, rated.hops, rated_in_id=batch.pk)
    return rating, derived


class _RerateCharge:
    """Re-rating's charging steps (``charging.usage_charge``): stored rows rated again, by source."""

    def __init__(
        self,
        *,
        batch: UsageBatch,
        groups: list[tuple[list[UsageEvent], RatedEvents]],
        derived: dict[int, list[UsageEvent]],
    ):
        self.batch, self.groups, self.derived = batch, groups, derived
        self.done: list[UsageEvent] = []

    def claim(self) -> None:
        """The rows were locked when selected (SKIP LOCKED): another run takes others."""

    def draw(self) -> None:
        # Drawn as for a new batch: the rows are locked, so the update below holds.
        for rows, rating in self.groups:
            hops = [d for row in rows for d in self.derived.get(row.pk, ())]
            rows_draw(batch=self.batch, rows=rows + hops, pricer=rating.pricer)

    def store(self) -> None:
        """Update the rows that now rate (or are not charged), guarded by their unrated state; add the
        derived rows of those updated."""
        hops = []
        for rows, _rating in self.groups:
            for row in rows:
                names = [*RATING_FIELDS, "gateway_key", "price_window", "unrated_message"]
                if row.rating_state == RATED:
                    names.append("rated_in_id")
                updated = UsageEvent.objects.filter(
                    pk=row.pk, occurred_at=row.occurred_at, rating_state=RatingState.UNRATED
                ).update(**{name: getattr(row, name) for name in names})
                if updated and row.rating_state != RatingState.UNRATED:
                    self.done.append(row)
                    hops += self.derived.get(row.pk, ())
        UsageEvent.objects.bulk_create(hops)
        self.done += hops

    def customers(self) -> set[int]:
        return {r.customer_id for r in self.done if r.customer_id is not None}

    def roll_up(self, timeline: Timeline):
        rollups_add(events=self.done)
        models = {pk: m for _rows, r in self.groups for pk, m in r.models.items()}
        channels = {a: c for _rows, r in self.groups for a, c in r.channels.items()}
        return row_groups(self.done, models, timeline, channels)

    def post(self, charge: Charged) -> None:
        # One posting per customer for the whole run: a customer's events may come through several
        # sources, and per-source postings under one batch would share (and so replay) their keys.
        customers = {pk: c for _rows, r in self.groups for pk, c in r.customers.items()}
        vendors = {m.vendor_id: m.vendor for _rows, r in self.groups for m in r.models.values()}
        channels = {c.pk: c for _rows, r in self.groups for c in r.channels.values()}
        sums_post(
            batch=self.batch,
            sell=charge.sell,
            cost=charge.cost,
            timeline=charge.timeline,
            commission=charge.commission,
            customers=customers,
            vendors=vendors,
            channels=channels,
        )


def usage_rerate(*, event_ids: list[int] | None = None, limit: int = 5000) -> BatchResult:
    """Re-rate up to ``limit`` unrated events (all, or those in ``event_ids``), oldest first.

    The ones that now rate are charged under a new *re-rating* batch (its own ledger idempotency keys);
    the others keep a refreshed reason. Rows are locked (SKIP LOCKED) so concurrent runs split the work.
    """
    with transaction.atomic():
        queryset = UsageEvent.objects.filter(rating_state=RatingState.UNRATED).order_by("occurred_at", "id")
        if event_ids is not None:
            queryset = queryset.filter(pk__in=event_ids)
        if connection.features.has_select_for_update_skip_locked:
            queryset = queryset.select_for_update(skip_locked=True)
        rows = list(queryset[:limit])
        if not rows:
            return BatchResult(batch_id=None)
        batch = UsageBatch.objects.create(
            source=None,
            idempotency_key=f"rerate:{uuid.uuid4()}",
            request_hash="",
            fmt="rerate",
            received=len(rows),
        )
        by_source: dict[int | None, list[UsageEvent]] = {}
        for row in rows:
            by_source.setdefault(row.source_id, []).append(row)
        groups, derived = [], {}
        for source_id, group in by_source.items():
            source = GatewaySource.objects.filter(pk=source_id).first() if source_id else None
            rating, hops = _rerate_group(rows=group, source=source, batch=batch)
            groups.append((group, rating))
            derived.update(hops)
        steps = _RerateCharge(batch=batch, groups=groups, derived=derived)
        charge = usage_charge(steps)
        unrated = sum(1 for r in rows if r.rating_state == RatingState.UNRATED)
        result = BatchResult(batch_id=batch.pk, accepted=charge.stored, unrated=unrated)
        usage_batch_finish(batch=batch, result=result, customer_ids=charge.customer_ids)
    return result
