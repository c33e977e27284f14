"""The request log: single gateway requests of the customers a user may see, a page at a time or streamed.

A request is its *hop 0* row in ``usage_event`` (the gateway's event, customer = the end customer, charged at
the end customer's prices); the derived rows up the distribution chain repeat it and are left out, so each
request is one row. ``usage_event`` is partitioned by month and large, so every read here is bounded:

- by time, always (``start`` ≤ occurred_at < ``end``), so PostgreSQL prunes the partitions outside it;
- a page is a *keyset* page: the 51 rows after (or before) a cursor on ``(occurred_at, id)``, descending,
  so page 1,000 costs what page 1 does (an OFFSET would read and drop every row before it);
- one customer's rows are read in order through ``usage_event_customer_at``; rows of many customers through
  the BRIN index on ``occurred_at`` (migration 0045), in growing windows of time from the cursor (``_fetch``);
- a request id is looked up through ``usage_request_key`` (its primary key ``(source_id, request_id)``, one
  probe per gateway source), which gives the instant of the event: no index on ``request_id`` is paid for
  by every ingested row, and the search finds the request whatever the time range.

Staff read each request's figures as the operator's (``with_operator_sale``): for a request resold
through the chain, the hop-0 row is the end customer's purchase from its reseller (the reseller's retail
price, the reseller's cost), and the operator's sale is the top purchase hop, found for a page's rows in
one more query bounded by the page's instants.

See migration 0045 for the one index added, and ``bench/request_log.py`` for the figures.
"""

import base64
import binascii
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import islice

from django.db.models import Case, JSONField, Q, QuerySet, TextChoices, When
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import Cast
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import User
from accounts.selectors import customers_visible_to
from billing.usage.models import GatewaySource, RatingState, UsageEvent, UsageRequestKey
from catalog.models import AIModel

PAGE_SIZE = 50
# The longest range one page or export covers: any calendar month fits.
MAX_RANGE = timedelta(days=31)
DEFAULT_RANGE = timedelta(hours=24)
# The first window of time a page over many customers reads (``_fetch``), doubled until the page is full.
FIRST_WINDOW = timedelta(hours=1)
# What a row shows and the export writes: the event's counts of every token class and unit.
COUNT_COLUMNS = (
    "prompt_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "completion_tokens",
    "reasoning_tokens",
    "audio_prompt_tokens",
    "audio_completion_tokens",
    "images",
    "audio_ms",
)
ROW_FIELDS = (
    "id",
    "source_id",
    "occurred_at",
    "request_id",
    "gateway_key",
    "customer_id",
    "model_name",
    "upstream_account",
    *COUNT_COLUMNS,
    "service_tier",
    "price_window",
    "is_batch",
    "succeeded",
    "rating_state",
    "unrated_reason",
    "unrated_message",
    "sell_plan",
    "sell_amount",
    "sell_currency",
    "cost_amount",
    "cost_currency",
)

# What the operator's hop of a chain contributes to a staff row (``with_operator_sale``).
HOP_FIELDS = (
    "source_id",
    "request_id",
    "occurred_at",
    "hop",
    "customer_id",
    "sell_plan",
    "sell_amount",
    "sell_currency",
    "cost_amount",
    "cost_currency",
)
# Rows an export reads before it looks up their operator's hops in one query.
HOP_CHUNK = 500


class RequestStatus(TextChoices):
    """What happened to a request, as its reader asks: charged, waiting to be rated, or never charged."""

    CHARGED = "charged", pgettext_lazy("request status", "Charged")
    UNRATED = "unrated", _("Unrated (not charged yet)")
    FAILED = "failed", _("Failed (not charged)")
    ADJUSTMENT = "adjustment", _("Gateway adjustment (not charged)")


@dataclass(frozen=True)
class Cursor:
    """A position in the log: the row ``(occurred_at, id)`` a page starts after (``forward``: older rows) or
    ends before (the previous page: newer rows)."""

    occurred_at: datetime
    id: int
    forward: bool = True

    def encode(self) -> str:
        micros = int((self.occurred_at - _EPOCH) / timedelta(microseconds=1))
        text = f"{'n' if self.forward else 'p'}{micros}.{self.id}"
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> "Cursor":
        """Read a cursor from a link; raise ValueError on anything this module did not write."""
        try:
            text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
        except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
            raise ValueError("not a cursor") from exc
        direction, rest = text[:1], text[1:]
        micros, dot, ident = rest.partition(".")
        if direction not in ("n", "p") or not dot or not micros.lstrip("-").isdigit() or not ident.isdigit():
            raise ValueError("not a cursor")
        try:
            occurred_at = _EPOCH + timedelta(microseconds=int(micros))
        except OverflowError as exc:
            raise ValueError("not a cursor") from exc
        cursor = cls(occurred_at=occurred_at, id=int(ident), forward=direction == "n")
        if cursor.encode() != token:
            raise ValueError("not a cursor")  # only the one spelling this module writes
        return cursor


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class RequestLogQuery:
    """What to find: a time range (``end`` exclusive) and optional filters, within ``customers`` (their ids;
    None: every customer and the events no customer's key matched, for operator staff only)."""

    start: datetime
    end: datetime
    customers: tuple[int, ...] | None
    gateway_key: str = ""
    model: str = ""
    request_id: str = ""
    status: str = ""


@dataclass
class RequestLogPage:
    rows: list[dict]
    next_cursor: Cursor | None
    previous_cursor: Cursor | None


def request_log_customers(user: User, customer_id: int | None = None) -> tuple[int, ...] | None:
    """The customers whose requests ``user`` may read (None: all, operator staff), narrowed to
    ``customer_id`` if given; a customer the user may not see gives no customers at all, never an error
    that would tell it exists."""
    visible = customers_visible_to(user)
    if customer_id is not None:
        return tuple(visible.filter(pk=customer_id).values_list("pk", flat=True))
    if user.is_operator_staff:
        return None
    return tuple(visible.values_list("pk", flat=True))


def request_log_events(query: RequestLogQuery) -> QuerySet[UsageEvent]:
    """The hop-0 events ``query`` finds, unordered (see the module docstring for what bounds the read)."""
    events = UsageEvent.objects.filter(hop=0)
    if query.customers is not None:
        if len(query.customers) == 1:
            events = events.filter(customer_id=query.customers[0])
        else:
            events = events.filter(customer_id__in=query.customers)
    if query.request_id:
        events = _with_request_id(events, query.request_id)
    else:
        events = events.filter(occurred_at__gte=query.start, occurred_at__lt=query.end)
    if query.gateway_key:
        events = events.filter(gateway_key=query.gateway_key)
    if query.model:
        # The name as the gateway sent it, or the canonical name of the model it resolved to (an alias).
        model_ids = list(AIModel.objects.filter(name=query.model).values_list("pk", flat=True))
        events = events.filter(Q(model_name=query.model) | Q(model_id__in=model_ids))
    if query.status:
        events = _with_status(events, query.status)
    return events


def _with_request_id(events: QuerySet[UsageEvent], request_id: str) -> QuerySet[UsageEvent]:
    """Events with ``request_id``, found at the instants the dedupe keys recorded (one key per source)."""
    sources = list(GatewaySource.objects.values_list("pk", flat=True))
    keys = UsageRequestKey.objects.filter(source_id__in=sources, request_id=request_id)
    where = Q()
    for source_id, occurred_at in keys.values_list("source_id", "occurred_at"):
        where |= Q(source_id=source_id, occurred_at=occurred_at)
    if not where:
        return events.none()
    return events.filter(where, request_id=request_id)


def _adjustment() -> KeyTransform:
    # metadata is stored as json, which has no operators: read the flag through a jsonb cast (PostgreSQL).
    return KeyTransform("adjustment", Cast("metadata", output_field=JSONField()))


def _adjustment_shown() -> Case:
    """The flag for rows that can be adjustments (not charged) only: casting every row's metadata (~700
    bytes) to jsonb would cost an export more than the rest of the row."""
    return Case(When(rating_state=RatingState.NOT_CHARGED, then=_adjustment()), default=None)


def _with_status(events: QuerySet[UsageEvent], status: str) -> QuerySet[UsageEvent]:
    if status == RequestStatus.CHARGED:
        return events.filter(rating_state=RatingState.RATED)
    if status == RequestStatus.UNRATED:
        return events.filter(rating_state=RatingState.UNRATED)
    not_charged = events.filter(rating_state=RatingState.NOT_CHARGED).alias(flagged=_adjustment())
    if status == RequestStatus.ADJUSTMENT:
        return not_charged.filter(flagged=True)
    if status == RequestStatus.FAILED:
        # The flag is absent on a failed request (NULL, which a plain exclude() would drop as well).
        return not_charged.filter(Q(flagged__isnull=True) | Q(flagged=False))
    raise ValueError(f"unknown status {status!r}")


def request_log_page(query: RequestLogQuery, cursor: Cursor | None = None) -> RequestLogPage:
    """One page of ``PAGE_SIZE`` rows, newest first, after (or before) ``cursor``; with the cursors of the
    pages either side (None where there is none).

    Rows with the same instant are ordered by id, so a page boundary inside such a group neither skips nor
    repeats a row. The extra bound ``occurred_at <= cursor`` (or ``>=``) is what lets the index scan start
    at the cursor; the OR alone would be read as a filter over every newer row.
    """
    events = request_log_events(query)
    if cursor is None:
        rows = _fetch(events, query, newest_first=True)
        more_after, more_before = len(rows) > PAGE_SIZE, False
        rows = rows[:PAGE_SIZE]
    elif cursor.forward:
        at = cursor.occurred_at
        older = events.filter(
            Q(occurred_at__lt=at) | Q(occurred_at=at, id__lt=cursor.id), occurred_at__lte=at
        )
        rows = _fetch(older, query, newest_first=True, edge=at)
        more_after, more_before = len(rows) > PAGE_SIZE, True
        rows = rows[:PAGE_SIZE]
    else:
        at = cursor.occurred_at
        newer = events.filter(
            Q(occurred_at__gt=at) | Q(occurred_at=at, id__gt=cursor.id), occurred_at__gte=at
        )
        rows = _fetch(newer, query, newest_first=False, edge=at)
        more_after, more_before = True, len(rows) > PAGE_SIZE
        rows = list(reversed(rows[:PAGE_SIZE]))
    if not rows:
        return RequestLogPage(rows=[], next_cursor=None, previous_cursor=None)
    first, last = rows[0], rows[-1]
    return RequestLogPage(
        rows=rows,
        next_cursor=Cursor(last["occurred_at"], last["id"], forward=True) if more_after else None,
        previous_cursor=Cursor(first["occurred_at"], first["id"], forward=False) if more_before else None,
    )


def _fetch(
    events: QuerySet[UsageEvent], query: RequestLogQuery, *, newest_first: bool, edge: datetime | None = None
) -> list[dict]:
    """The first ``PAGE_SIZE + 1`` rows of ``events`` from ``edge`` (a cursor's instant; None: the range's end
    or start) on, newest first or oldest first.

    One customer's rows come in order from its index: one query, however deep. Rows of many customers (staff,
    a sub-distributor's subtree) are found through the BRIN index, which gives blocks, not order: every row
    of the range past the cursor would be read and sorted to keep 51. So they are read in windows of time
    from the edge, an hour first and twice as long each time, until the page is full or the range ends:
    a page costs about the rows of the window that fills it, wherever it lies in the range.
    """
    order = ("-occurred_at", "-id") if newest_first else ("occurred_at", "id")
    limit = PAGE_SIZE + 1
    if query.request_id or (query.customers is not None and len(query.customers) <= 1):
        return _rows(events.order_by(*order)[:limit])
    rows: list[dict] = []
    span = FIRST_WINDOW
    if newest_first:
        edge = min(edge or query.end, query.end)
        done = None  # rows at and after this instant were read by an earlier window
        while len(rows) < limit and edge > query.start:
            low = max(query.start, edge - span)
            window = events.filter(occurred_at__gte=low)
            if done is not None:
                window = window.filter(occurred_at__lt=done)
            rows += _rows(window.order_by(*order)[: limit - len(rows)])
            edge = done = low
            span *= 2
    else:
        edge = max(edge or query.start, query.start)
        done = None
        while len(rows) < limit and edge < query.end:
            high = min(query.end, edge + span)
            window = events.filter(occurred_at__lt=high)
            if done is not None:
                window = window.filter(occurred_at__gte=done)
            rows += _rows(window.order_by(*order)[: limit - len(rows)])
            edge = done = high
            span *= 2
    return rows


def _rows(events: QuerySet[UsageEvent]) -> list[dict]:
    return [row_status(row) for row in events.values(*ROW_FIELDS, adjustment=_adjustment_shown())]


def row_status(row: dict) -> dict:
    """Add the row's ``status`` (a ``RequestStatus``) and ``audio_seconds``; return the row."""
    state = row["rating_state"]
    if state == RatingState.RATED:
        row["status"] = RequestStatus.CHARGED
    elif state == RatingState.UNRATED:
        row["status"] = RequestStatus.UNRATED
    elif row.get("adjustment") is True:
        row["status"] = RequestStatus.ADJUSTMENT
    else:
        row["status"] = RequestStatus.FAILED
    # Stored in milliseconds (docs/usage.md), shown and exported in seconds, exactly.
    row["audio_seconds"] = Decimal(row["audio_ms"]) / 1000
    return row


def request_log_iter(query: RequestLogQuery, *, chunk_size: int = 2000) -> Iterator[dict]:
    """Every row ``query`` finds, newest first, read through a server-side cursor (PostgreSQL) in chunks of
    ``chunk_size``: an export of a month never holds the month in memory."""
    events = request_log_events(query).order_by("-occurred_at", "-id")
    for row in events.values(*ROW_FIELDS, adjustment=_adjustment_shown()).iterator(chunk_size=chunk_size):
        yield row_status(row)


def with_operator_sale(rows: list[dict]) -> list[dict]:
    """Add to each hop-0 row of ``rows`` what the operator sold and what it cost the operator (staff only),
    and who charged the end customer; return the rows.

    ``charged_by_id``: the seller of the hop-0 sale (the hop-1 purchase's buyer), None when the operator
    sold it. ``our_sell_*`` and ``our_cost_*``: the top purchase hop (the one the operator sold, carrying
    the contract cost), or the hop-0 row itself when the request went through no reseller. Commission rows
    are no sale: an agency's customer is the operator's sale at hop 0. The purchase rows share the event's
    source, request id and instant; one query finds those of every row, bounded by the rows' instants so
    PostgreSQL reads only the partitions (and BRIN ranges) the rows lie in.
    """
    hops: dict[tuple, dict[int, dict]] = defaultdict(dict)
    charged = [row for row in rows if row["rating_state"] == RatingState.RATED]
    if charged:
        instants = [row["occurred_at"] for row in charged]
        purchases = UsageEvent.objects.filter(
            occurred_at__gte=min(instants),
            occurred_at__lte=max(instants),
            request_id__in={row["request_id"] for row in charged},
            hop__gt=0,
            rating_state=RatingState.RATED,
        )
        for hop in purchases.values(*HOP_FIELDS):
            hops[(hop["source_id"], hop["request_id"], hop["occurred_at"])][hop["hop"]] = hop
    for row in rows:
        chain = hops.get((row["source_id"], row["request_id"], row["occurred_at"]), {})
        top = chain[max(chain)] if chain else row
        row["charged_by_id"] = chain[1]["customer_id"] if 1 in chain else None
        for name in ("sell_plan", "sell_amount", "sell_currency", "cost_amount", "cost_currency"):
            row[f"our_{name}"] = top[name]
    return rows


def with_operator_sale_iter(rows: Iterable[dict]) -> Iterator[dict]:
    """``with_operator_sale`` over a stream of rows (an export), ``HOP_CHUNK`` rows to a query."""
    rows = iter(rows)
    while chunk := list(islice(rows, HOP_CHUNK)):
        yield from with_operator_sale(chunk)
