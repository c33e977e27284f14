"""How a batch of rated events is charged, written once for every path: the order of the steps, what
they decide, and the batch's result.

    claim → draw → store → roll up → post → finish

Resolving keys and models, pricing and rating (``rating.event_rate``) come before and change nothing.
Then, inside the batch's database transaction: the events another batch charged leave (*claim*: a
duplicate draws, rolls up and posts nothing); token allowances cover what they can, oldest event first
(*draw*: it lowers sales, so it comes before what sums them); the events are stored with those sales
(*store*); the rated ones are added to the hourly and daily rollups and summed per customer, currency and
segment of the customer's timeline (*roll up*: ``timeline``, where the terms or the wallet lots change); the
sums are posted per batch × customer, each segment under the terms in force then (*post*,
``postings.sums_post``); and the batch records its counts (*finish*, ``usage_batch_finish``), announcing
once it commits that its customers' usage changed.

An event sold through the distribution chain brings its derived rows (``rating``: one per hop up the
chain, and an agency's commission): they go with their event through the claim (only the event claims its
request key), and are then drawn, stored, rolled up and posted like any rated event of their own customer —
the seller buying the request at its hop — except commissions, summed apart (``Charged.commission``) and
never rolled up or charged as a sale. A batch counts gateway events, not derived rows.

Each path supplies the steps for its rows (``ChargeSteps``): the per-batch path (``services``) and
re-rating (``rerate``) work on model instances in memory, the bulk writer (``bulk.writer``) on a staged
chunk with set-based SQL and COPY, fast on purpose. What they share is here.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple, Protocol

from django.db import transaction

from billing.terms.spans import spans_lock_shared
from billing.usage.models import UsageBatch
from billing.usage.rating import COMMISSION, RATED, UNRATED
from billing.usage.signals import usage_committed
from billing.usage.timeline import Timeline, timeline_load

# Rejected rows reported per batch: enough to fix a feed, bounded so a garbage file cannot bloat a row.
MAX_REPORTED_ERRORS = 1_000


@dataclass
class BatchResult:
    batch_id: int | None
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    unrated: int = 0
    errors: list[dict] = field(default_factory=list)
    replayed: bool = False
    parts: int = 0  # batches or chunks counted into this total by ``add``

    def add(self, part: "BatchResult", *, offset: int) -> None:
        """Count ``part`` (a batch or chunk of a larger input starting at record ``offset``) into this
        total; its bad rows' indices become indices within the whole input, up to MAX_REPORTED_ERRORS.
        The total is replayed when every part was (the whole input had been ingested before)."""
        self.replayed = part.replayed and (self.replayed or not self.parts)
        self.parts += 1
        self.accepted += part.accepted
        self.duplicates += part.duplicates
        self.rejected += part.rejected
        self.unrated += part.unrated
        room = max(0, MAX_REPORTED_ERRORS - len(self.errors))
        self.errors += [{**e, "index": e["index"] + offset} for e in part.errors[:room]]

    def as_dict(self) -> dict:
        return {
            "batch_id": self.batch_id,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "unrated": self.unrated,
            "errors": self.errors,
        }


class Group(NamedTuple):
    """Stored events of one customer, rating state, sell currency, vendor, cost currency, segment of the
    customer's timeline and channel: how many, and their sale and cost summed (None: none of them has
    one); ``derived``: how many of them are derived rows (a hop up the chain, not a gateway event).
    ``channel_id``: the channel their upstream account names (0: none), whose contract's vendor is then
    ``vendor_id`` — the cost is owed on that channel's account."""

    customer_id: int | None
    state: str
    sell_currency: str
    vendor_id: int | None
    cost_currency: str
    count: int
    sell_amount: Decimal | None
    cost_amount: Decimal | None
    segment: int = 0
    derived: int = 0
    channel_id: int = 0


@dataclass
class Charged:
    """What a batch charged: the sums to post and the counts it reports."""

    sell: dict[tuple[int, str, int], Decimal]  # by (customer, currency, segment)
    cost: dict[tuple[int, int, str, int], Decimal]  # by (customer, vendor, currency, channel or 0)
    stored: int  # gateway events stored by this batch (every state; derived rows not counted)
    unrated: int
    customer_ids: set[int]
    timeline: Timeline  # what the segments are, and the terms in force in each
    # Agency commissions earned, by (agent, currency): posted in the agent's seller's book as its commission
    # expense and payable to the agent, never as a sale.
    commission: dict[tuple[int, str], Decimal] = field(default_factory=dict)


def charged(groups, timeline: Timeline) -> Charged:
    """Sum the stored events' ``groups``: only rated events are charged (a derived row like any: its
    customer bought the request at that hop); an unrated one is counted (staff fix its cause and re-rate
    it), a failed request (*not charged*) neither; commissions are summed apart."""
    sell: dict = defaultdict(Decimal)
    cost: dict = defaultdict(Decimal)
    commission: dict = defaultdict(Decimal)
    stored = unrated = 0
    customer_ids = set()
    for g in groups:
        stored += g.count - g.derived
        if g.customer_id is not None:
            customer_ids.add(g.customer_id)
        if g.state == UNRATED:
            unrated += g.count
        elif g.state == RATED:
            sell[(g.customer_id, g.sell_currency, g.segment)] += g.sell_amount
            if g.cost_amount is not None:
                cost[(g.customer_id, g.vendor_id, g.cost_currency, g.channel_id)] += g.cost_amount
        elif g.state == COMMISSION:
            commission[(g.customer_id, g.sell_currency)] += g.sell_amount
    return Charged(sell, cost, stored, unrated, customer_ids, timeline, dict(commission))


def row_groups(rows, models: dict, timeline: Timeline, channels: dict) -> list[Group]:
    """``Group``s of one event each, for the paths that hold their events as model instances (``models``:
    the events' models by id, for their vendors; ``channels``: the channels their upstream accounts
    resolved to when they were rated, by account as sent)."""
    groups = []
    for r in rows:
        channel = channels.get(r.upstream_account)
        if channel is not None:
            vendor_id = channel.contract.vendor_id
        else:
            vendor_id = models[r.model_id].vendor_id if r.model_id is not None else None
        groups.append(
            Group(
                r.customer_id,
                r.rating_state,
                r.sell_currency,
                vendor_id,
                r.cost_currency,
                1,
                r.sell_amount,
                r.cost_amount,
                timeline.segment(r.customer_id, r.occurred_at) if r.customer_id is not None else 0,
                1 if r.hop else 0,
                channel.pk if channel is not None else 0,
            )
        )
    return groups


class ChargeSteps(Protocol):
    """One path's implementation of the steps, for the rows of one batch (see the module docstring)."""

    def claim(self) -> None:
        """Drop the events another batch holds already: no later step sees them."""

    def draw(self) -> None:
        """Draw the rated events against their customers' token allowances, oldest first; set the sales."""

    def store(self) -> None:
        """Store the events (with the sales the draw set). A path may store earlier the events whose sale
        the draw cannot change (the bulk writer: customers holding no allowance), as long as its claim
        removes those it lost."""

    def customers(self) -> set[int]:
        """The customers of the stored events (more will do): whose timeline the batch reads."""

    def roll_up(self, timeline: Timeline) -> list[Group]:
        """Add the rated events to the hourly and daily rollups; return the stored events' groups, each
        within one segment of ``timeline``."""

    def post(self, charge: Charged) -> None:
        """Post ``charge.sell`` and ``charge.cost`` (``postings.sums_post``: cost on its channel)."""


def usage_charge(steps: ChargeSteps) -> Charged:
    """Run the steps in the one order every path charges in; return what was charged."""
    steps.claim()
    steps.draw()
    steps.store()
    spans_lock_shared()  # until commit: no terms switch picks its instant under usage charged here
    timeline = timeline_load(steps.customers())
    charge = charged(steps.roll_up(timeline), timeline)
    steps.post(charge)
    return charge


def usage_batch_finish(*, batch: UsageBatch, result: BatchResult, customer_ids: set[int], **counts) -> None:
    """Record ``batch``'s result (its counts and the answer a replay gives: ``result`` but its id) and,
    once the batch commits, read its customers' gateway status afresh. ``counts``: other columns to set
    (``received`` when only the end of the input knew it)."""
    UsageBatch.objects.filter(pk=batch.pk).update(
        accepted=result.accepted,
        duplicates=result.duplicates,
        rejected=result.rejected,
        unrated=result.unrated,
        response={k: v for k, v in result.as_dict().items() if k != "batch_id"},
        **counts,
    )
    customer_ids = set(customer_ids)
    transaction.on_commit(lambda: after_commit(customer_ids), robust=True)


def after_commit(customer_ids: set[int]) -> None:
    """Say that these customers' usage committed (``signals.usage_committed``: the gateway reads their
    status afresh). Registered with ``on_commit(robust=True)``: the usage has committed, so a cache that
    cannot be reached is logged (the status is then at most its cache lifetime stale), never reported as
    a failed batch."""
    usage_committed.send(sender=UsageBatch, customer_ids=customer_ids)
