"""The terms history as spans: which billing mode was in force at any instant, and the switch that ends one.

Usage is charged by when it *happened*: an event is charged under the mode of the span holding its
``occurred_at`` (credit: accrued to unbilled and invoiced by the close; prepaid: debited from the wallet),
whenever it arrives. ``mode_at`` is that one rule; ``credit_intervals`` gives the close the stretches it
invoices. Spans are contiguous, so every instant has exactly one mode: before the first span's start the
first span's mode applies (usage that predates onboarding is charged, never left outside every span),
and a customer without span rows is on its current mode throughout.

Once an event is charged, the mode at its ``occurred_at`` must never change, or it would be charged again
(wallet *and* invoice) or never. Two things keep a switch from moving under charged usage: its instant is
after the latest usage already stored for the customer (gateways may date usage up to a day ahead), and
charging and switching are ordered by one lock (``spans_lock_shared`` / ``spans_lock_exclusive``), so a
batch that read the spans before a switch is charged before the switch picks its instant.
"""

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from itertools import pairwise

from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.db.models import F

from accounts.models import Customer
from billing.terms.models import CREDIT_MODES, BillingTerms, TermsSpan

# The PostgreSQL advisory lock (namespace, key) that orders charging against switches. One key for all
# customers: a charging transaction takes it once per batch or chunk, whatever its customers (a key per
# customer would fill the lock table on a 10,000-event chunk), and shared holders never wait for each other.
_SPANS_LOCK = (0x5350414E, 0)  # "SPAN"
# Spans in time order: the first span (open-started, NULL) first, which PostgreSQL sorts last by default.
_TIME_ORDER = (F("starts_at").asc(nulls_first=True), "pk")
# The smallest step of a stored instant (PostgreSQL and SQLite keep microseconds).
_INSTANT = timedelta(microseconds=1)
# How far a customer's stored usage reaches (its latest ``occurred_at``; None: none). Usage stores it and
# sits above terms, so it hands the question in at start-up (``billing.apps``) instead of terms importing it.
_usage_reach: list[Callable[[int], datetime | None]] = []


def usage_reach_provide(reach: Callable[[int], datetime | None]) -> None:
    """Install ``reach(customer_id)``: the latest ``occurred_at`` stored for the customer, or None."""
    _usage_reach[:] = [reach]


def spans_lock_shared() -> None:
    """Hold the spans read lock until the transaction ends. Every charging transaction takes it right
    before it reads the spans, so no switch picks its instant while usage charged under the old spans is
    still uncommitted (and invisible to the switch). Must run inside the charging transaction.

    SQLite serialises writers anyway: a charging transaction and a switch never overlap there."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s, %s)", _SPANS_LOCK)


def spans_lock_exclusive() -> None:
    """Hold the spans write lock until the transaction ends: wait for the charging transactions that read
    the spans to commit, and keep new ones from reading them until this one ends. Take it before any row
    lock a charging transaction may also want (a wallet's customer), or the two could deadlock."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", _SPANS_LOCK)


def _reach(customer: Customer) -> datetime | None:
    if not _usage_reach:
        raise ImproperlyConfigured("No usage reach provided: a terms switch cannot pick a safe instant.")
    return _usage_reach[0](customer.pk)


@dataclass(frozen=True)
class Span:
    """One mode from ``starts_at`` (None: the beginning) until ``ends_at`` (None: still open)."""

    mode: str
    starts_at: datetime | None
    ends_at: datetime | None

    @property
    def is_credit(self) -> bool:
        return self.mode in CREDIT_MODES


@dataclass(frozen=True)
class Spans:
    """One customer's spans in time order, with the instants where the mode changes."""

    spans: tuple[Span, ...]

    @cached_property
    def cuts(self) -> tuple[datetime, ...]:
        """The switch instants: each span's start but the first (read once per segment by every batch)."""
        return tuple(s.starts_at for s in self.spans[1:])

    def at(self, when: datetime) -> Span:
        """The span in force at ``when`` (the first one for any earlier instant)."""
        return self.spans[bisect_right(self.cuts, when)]

    def mode_at(self, when: datetime) -> str:
        return self.at(when).mode

    def credit_intervals(self) -> list[tuple[datetime | None, datetime | None]]:
        """The ``[since, until)`` stretches on credit (None: unbounded), adjacent credit spans merged; the
        first span reaches back to the beginning."""
        out: list[list] = []
        for i, span in enumerate(self.spans):
            if not span.is_credit:
                continue
            since = None if i == 0 else span.starts_at
            if out and out[-1][1] == since:
                out[-1][1] = span.ends_at
            else:
                out.append([since, span.ends_at])
        return [(since, until) for since, until in out]


def spans_of(customer_ids) -> dict[int, Spans]:
    """Every customer's spans (two queries). A customer without span rows gets one span of its current
    terms' mode (prepaid without terms); an unknown id is left out."""
    rows: dict[int, list[Span]] = defaultdict(list)
    for cid, mode, starts_at, ends_at in (
        TermsSpan.objects.filter(customer_id__in=list(customer_ids))
        .order_by("customer_id", *_TIME_ORDER)
        .values_list("customer_id", "mode", "starts_at", "ends_at")
    ):
        rows[cid].append(Span(mode, starts_at, ends_at))
    missing = set(customer_ids) - rows.keys()
    if missing:
        modes = dict(
            BillingTerms.objects.filter(customer_id__in=list(missing)).values_list("customer_id", "mode")
        )
        for cid in Customer.objects.filter(pk__in=list(missing)).values_list("pk", flat=True):
            rows[cid] = [Span(modes.get(cid, BillingTerms.Mode.PREPAID), None, None)]
    return {cid: Spans(tuple(spans)) for cid, spans in rows.items()}


def terms_spans(customer: Customer) -> list[TermsSpan]:
    """``customer``'s span rows in time order (the first, open-started one first), for pages."""
    return list(TermsSpan.objects.filter(customer=customer).order_by(*_TIME_ORDER))


def terms_switches(customer: Customer, start: datetime, end: datetime) -> list[tuple[TermsSpan, TermsSpan]]:
    """The mode switches of ``customer`` in ``[start, end)``, as (span ended, span started) pairs."""
    spans = terms_spans(customer)
    return [
        (before, after)
        for before, after in pairwise(spans)
        if after.starts_at is not None and start <= after.starts_at < end
    ]


def terms_span_start(*, customer: Customer, mode: str, starts_at: datetime | None) -> TermsSpan:
    """The first span, written at onboarding: ``mode`` from ``starts_at`` (when the terms apply)."""
    return TermsSpan.objects.create(customer=customer, mode=mode, starts_at=starts_at)


@transaction.atomic
def terms_span_switch(*, customer: Customer, old_mode: str | None, new_mode: str, at: datetime) -> TermsSpan:
    """Switch ``customer`` to ``new_mode`` from ``at`` — or, when usage already stored reaches ``at`` or
    later, from just after that usage — and return the span in force from then. Usage before the span's
    ``starts_at`` is charged under the old mode, usage from it under the new one, whenever it arrives.

    A customer without spans (terms older than spans) first gets its history: ``old_mode`` until then
    (one span for all time when the mode stays). ``old_mode`` None: the customer had no terms, so its
    usage so far was charged as prepaid (``spans_of``); without any, the new mode covers all time.
    """
    spans_lock_exclusive()  # from here on, every usage charged under the old spans is committed and seen
    reach = _reach(customer)
    if reach is not None and reach >= at:
        # Usage dated ahead of the clock was charged under the old mode: it stays under it.
        at = reach + _INSTANT
    open_span = TermsSpan.objects.select_for_update().filter(customer=customer, ends_at__isnull=True).first()
    if open_span is None:
        if old_mode is None:
            old_mode = new_mode if reach is None else BillingTerms.Mode.PREPAID
        if old_mode == new_mode:
            return TermsSpan.objects.create(customer=customer, mode=new_mode, starts_at=None)
        open_span = TermsSpan(customer=customer, mode=old_mode, starts_at=None)
    if open_span.starts_at is not None and open_span.starts_at >= at:
        # Switched again before the open span began (within one instant, or before a switch deferred past
        # usage dated ahead): no usage reaches the open span, so it changes mode, or goes when the mode
        # returns to the one before it.
        before = TermsSpan.objects.filter(customer=customer, ends_at=open_span.starts_at).first()
        if before is not None and before.mode == new_mode:
            open_span.delete()
            before.ends_at = None
            before.save()
            return before
        open_span.mode = new_mode
        open_span.save()
        return open_span
    open_span.ends_at = at
    open_span.save()
    return TermsSpan.objects.create(customer=customer, mode=new_mode, starts_at=at)
