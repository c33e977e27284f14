"""How each customer's usage is charged along time: the instants where that changes, and what holds between.

Usage is charged by when it *happened*, whenever it arrives. Two things decide how: the terms in force at
its ``occurred_at`` (``billing.terms.spans``: credit accrues to unbilled, prepaid is debited from the
wallet) and, for prepaid usage, the wallet lots valid then (``billing.wallets.burn_down``). Both change
only at a few instants per customer — a terms switch, a lot's or money grant's start and expiry — the
*cuts*. Between two cuts everything is the same, so a batch sums its sale per customer, currency and
*segment* (the stretch between two cuts: segment ``i`` holds the instants with exactly ``i`` cuts at or
before them, so an event at a switch instant belongs to the new span), never per event.
"""

from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Max

from billing.terms.spans import Spans, spans_of
from billing.usage.models import UsageEvent
from billing.wallets.burn_down import lot_bounds


@dataclass(frozen=True)
class Timeline:
    """The batch's customers' spans and cuts (sorted), as plain data."""

    spans: dict[int, Spans]
    cuts: dict[int, tuple[datetime, ...]]

    def segment(self, customer_id: int, at: datetime) -> int:
        """The segment holding ``at``: how many of the customer's cuts are at or before it."""
        return bisect_right(self.cuts.get(customer_id, ()), at)

    def since(self, customer_id: int, segment: int) -> datetime | None:
        """Where ``segment`` starts (None: the first, from the beginning)."""
        return self.cuts[customer_id][segment - 1] if segment else None

    def is_credit(self, customer_id: int, segment: int) -> bool:
        """Whether usage in ``segment`` is on credit terms (the cuts hold every switch, so one mode holds
        throughout; before the first span, the first span's)."""
        spans = self.spans[customer_id]
        since = self.since(customer_id, segment)
        return (spans.spans[0] if since is None else spans.at(since)).is_credit

    def cuts_within(self, customer_ids, start: datetime, end: datetime) -> list[tuple[int, datetime]]:
        """The cuts in ``(start, end]`` of ``customer_ids``, as (customer, instant): the only ones that
        split usage between ``start`` and ``end`` (``segment(c, start)`` counts those before)."""
        return [(c, cut) for c in customer_ids for cut in self.cuts.get(c, ()) if start < cut <= end]


def timeline_load(customer_ids) -> Timeline:
    """The timeline of ``customer_ids`` (a few queries, however many customers)."""
    customer_ids = {c for c in customer_ids if c is not None}
    spans = spans_of(customer_ids)
    bounds = lot_bounds(customer_ids) if customer_ids else {}
    cuts = {
        c: tuple(sorted(set(spans[c].cuts) | bounds.get(c, set())))
        for c in customer_ids
        if c in spans and (len(spans[c].spans) > 1 or bounds.get(c))
    }
    return Timeline(spans, cuts)


def usage_reach(customer_id: int) -> datetime | None:
    """The latest ``occurred_at`` stored for the customer (None: none): a terms switch must come after it,
    since that usage was charged under the terms before (``billing.terms.spans``, which this is handed to
    in ``billing.apps``). Every stored event counts, charged or not: simpler, and a later switch is always
    safe. One probe of ``usage_event_customer_at`` per month partition."""
    return UsageEvent.objects.filter(customer_id=customer_id).aggregate(at=Max("occurred_at"))["at"]
