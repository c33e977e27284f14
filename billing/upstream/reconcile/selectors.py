"""Reads for the reconciliation pages: runs, their lines, and a line's evidence on our side.

A line's drill-down shows what our figures were summed from: the hourly rollups of the vendor day's spans
(``reconcile.windows``: the vendor rows' own windows and the rest of the zone day none covers; hour buckets
in UTC, so for a span off the hour its partial hours are the raw events' business)
and the raw events themselves, a keyset-paginated list ordered by ``(occurred_at, id)`` so a page costs the
same at the end of a busy day as at its start.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Lower

from billing.upstream.models import ReconciliationLine, ReconciliationRun, ReconClass
from billing.upstream.reconcile.ours import channel_names, operator_sold_events, operator_sold_hourly
from billing.upstream.reconcile.windows import day_spans, vendor_windows
from billing.usage.models import UsageEvent

EVENTS_PAGE = 50


def runs() -> QuerySet:
    return ReconciliationRun.objects.select_related("channel", "created_by")


def run_lines(run: ReconciliationRun) -> QuerySet:
    return run.lines.select_related("channel", "model")


def line_get(pk: int) -> ReconciliationLine | None:
    return (
        ReconciliationLine.objects.select_related("run", "channel", "model", "channel__contract")
        .prefetch_related("channel__aliases")
        .filter(pk=pk)
        .first()
    )


def class_chart(run: ReconciliationRun) -> dict:
    """Value at stake and line count per class, for the run's chart (non-matched classes that occur)."""
    classes = run.totals.get("classes", {})
    shown = [k for k in ReconClass.values if k != ReconClass.MATCHED and classes.get(k, {}).get("lines")]
    return {
        "labels": [str(ReconClass(k).label) for k in shown],
        "values": [classes[k]["value"] for k in shown],
        "lines": [classes[k]["lines"] for k in shown],
    }


def class_rows(run: ReconciliationRun) -> list[dict]:
    """Every class with its lines and value at stake, in ``ReconClass`` order (for the totals table)."""
    classes = run.totals.get("classes", {})
    return [
        {
            "klass": k,
            "label": label,
            "lines": classes.get(k, {}).get("lines", 0),
            "value": classes.get(k, {}).get("value", "0"),
        }
        for k, label in ReconClass.choices
    ]


def line_spans(line: ReconciliationLine) -> list[tuple[datetime, datetime]]:
    """The stretches of UTC time whose usage of ours belongs to the line's day (``reconcile.windows``)."""
    windows = vendor_windows([line.channel_id], line.day, line.day).get(line.channel_id, {})
    return day_spans(line.channel.reporting_zone, [line.day], windows).get(line.day, [])


def _window_filter(queryset, line: ReconciliationLine, at: str):
    spans = line_spans(line)
    if not spans:
        return queryset.none()
    within = Q()
    for start, end in spans:
        within |= Q(**{f"{at}__gte": start, f"{at}__lt": end})
    names = list(channel_names(line.channel))
    queryset = queryset.filter(within)
    queryset = queryset.annotate(account=Lower("upstream_account")).filter(account__in=names)
    if line.model_id:
        return queryset.filter(model_id=line.model_id)
    return queryset.filter(model__name=line.model_name)


def line_rollups(line: ReconciliationLine) -> QuerySet:
    """Our hourly rollups behind a line (operator-sold rows of the channel and model in its day's spans), one
    row per hour (and cost currency) summed over customers — a day's worth, a few more where the vendor's
    windows and the channel's zone differ; the raw events name customers."""
    rows = _window_filter(operator_sold_hourly(), line, "hour")
    sums = ("requests", "prompt_tokens", "cache_read_tokens", "cache_write_tokens", "completion_tokens")
    return (
        rows.values("hour", "cost_currency")
        .annotate(
            customers=Count("customer_id", distinct=True),
            cost=Sum("cost_amount"),
            **{f: Sum(f) for f in sums},
        )
        .order_by("hour", "cost_currency")
    )


@dataclass
class EventPage:
    events: list[UsageEvent]
    next_cursor: str  # "" on the last page


def cursor_parse(text: str) -> tuple[datetime, int] | None:
    """``"<occurred_at ISO>|<id>"`` → (occurred_at, id); None for an empty or malformed cursor."""
    at, sep, pk = (text or "").partition("|")
    try:
        return (datetime.fromisoformat(at), int(pk)) if sep else None
    except ValueError:
        return None


def line_events(line: ReconciliationLine, cursor: str = "", size: int = EVENTS_PAGE) -> EventPage:
    """One page of the raw events behind a line, after ``cursor``, oldest first."""
    events = _window_filter(operator_sold_events(), line, "occurred_at").select_related("customer")
    after = cursor_parse(cursor)
    if after is not None:
        at, pk = after
        events = events.filter(occurred_at__gte=at).exclude(occurred_at=at, id__lte=pk)
    found = list(events.order_by("occurred_at", "id")[: size + 1])
    if len(found) <= size:
        return EventPage(found, "")
    last = found[size - 1]
    return EventPage(found[:size], f"{last.occurred_at.isoformat()}|{last.pk}")


def lines_csv_rows(run: ReconciliationRun):
    """The run's lines for CSV: both sides' figures per vendor class, the class and the value at stake."""
    sides = ("requests", "input", "cache_read", "cache_write", "cache_write_1h", "output", "cost")
    # Machine-readable headers, the same in every language (as the command's JSON keys).
    yield [
        "day",
        "channel",
        "model",
        "class",
        *(f"ours_{f}" for f in sides),
        *(f"theirs_{f}" for f in sides),
        "contract_currency",
        f"value_{run.base_currency}",
        "detail",
    ]
    for line in run_lines(run).order_by("day", "channel__name", "model_name").iterator(chunk_size=2000):
        yield [
            line.day.isoformat(),
            line.channel.name,
            line.model_name,
            line.klass,
            *(line.ours.get(f) for f in sides),
            *(line.theirs.get(f) for f in sides),
            line.ours.get("currency") or line.theirs.get("currency") or "",
            line.value,
            line.detail,
        ]
