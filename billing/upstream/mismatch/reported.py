"""Signal (a): responses that report another model than the one requested.

Per channel × model × day: of the events whose gateway recorded the model the upstream answered with
(``metadata.response_model``, see the connectors), the share that names another model (``names``: dated
snapshots and provider prefixes of the same model are the same model). A share above ``REPORTED_SHARE``
with at least ``REPORTED_MIN_EVENTS`` such responses is a flag; the evidence counts them per reported name
and keeps sample request ids. Only the gateway's own rows are read (hop 0: a request sold through the chain
is stored once more per hop) and only those naming an upstream account that is a channel.
"""

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection

from billing.upstream.mismatch.findings import Finding, day_window, decimal_text
from billing.upstream.mismatch.names import ModelNames
from billing.upstream.models import MismatchFlag
from billing.usage.models import UsageEvent
from catalog.models import AIModel, Channel
from catalog.selectors.channels import channels_resolve
from common.stored_text import stored

# Flag when more than this share of the responses that name a model name another one…
REPORTED_SHARE = Decimal("0.01")
# …and at least this many do: one odd response in a thin day is no evidence.
REPORTED_MIN_EVENTS = 3
# Request ids kept in a flag's evidence (the dispute pack lists every one).
SAMPLES = 20

# One pass over the day's partition: the JSON operator reads the key from the stored ``json`` text (no
# jsonb conversion), and the range on occurred_at lets PostgreSQL prune the other months' partitions.
_DAY_SQL = f"""
SELECT upstream_account, model_id, model_name, metadata->>'response_model' AS reported, count(*),
       (array_agg(request_id ORDER BY occurred_at, request_id))[1:{SAMPLES}],
       (array_agg(occurred_at ORDER BY occurred_at, request_id))[1:{SAMPLES}]
FROM {UsageEvent._meta.db_table}
WHERE occurred_at >= %s AND occurred_at < %s AND hop = 0 AND upstream_account <> ''
GROUP BY upstream_account, model_id, model_name, reported
"""


@dataclass
class _Tally:
    channel: Channel
    model_id: int | None
    model_name: str
    events: int = 0
    reporting: int = 0
    mismatched: int = 0
    reported: Counter = field(default_factory=Counter)
    samples: list = field(default_factory=list)


def _day_rows(start: datetime, end: datetime) -> list[tuple]:
    if connection.vendor != "postgresql":
        return _day_rows_portable(start, end)
    with connection.cursor() as cursor:
        cursor.execute(_DAY_SQL, [start, end])
        return cursor.fetchall()


def _day_rows_portable(start: datetime, end: datetime) -> list[tuple]:
    """``_DAY_SQL``'s rows grouped in Python, for SQLite (the demo's database: a demo day is small)."""
    groups: dict[tuple, list] = {}
    events = (
        UsageEvent.objects.filter(occurred_at__gte=start, occurred_at__lt=end, hop=0)
        .exclude(upstream_account="")
        .order_by("occurred_at", "request_id")
        .values_list(
            "upstream_account",
            "model_id",
            "model_name",
            "metadata__response_model",
            "request_id",
            "occurred_at",
        )
    )
    for account, model_id, model_name, reported, request_id, occurred_at in events:
        if reported is not None and not isinstance(reported, str):
            reported = str(reported)
        found = groups.setdefault((account, model_id, model_name, reported), [0, [], []])
        found[0] += 1
        if len(found[1]) < SAMPLES:
            found[1].append(request_id)
            found[2].append(occurred_at)
    return [(*key, count, ids, instants) for key, (count, ids, instants) in groups.items()]


def _tallies(rows: list[tuple], names: ModelNames) -> list[_Tally]:
    channels = channels_resolve({row[0] for row in rows})
    tallies: dict[tuple, _Tally] = {}
    for account, model_id, sent_as, reported, count, request_ids, instants in rows:
        channel = channels.get(account.lower())
        if channel is None:
            continue
        key = (channel.pk, model_id if model_id is not None else sent_as.lower())
        tally = tallies.get(key)
        if tally is None:
            tally = tallies[key] = _Tally(channel, model_id, sent_as)
        tally.events += count
        if not (reported or "").strip():
            continue
        tally.reporting += count
        if names.is_other_model(model_id=model_id, sent_as=sent_as, reported=reported):
            tally.mismatched += count
            tally.reported[reported.strip()] += count
            for request_id, at in zip(request_ids, instants, strict=True):
                tally.samples.append((at, request_id, reported.strip(), sent_as))
    return list(tallies.values())


def _finding(tally: _Tally, day: date, models: dict[int, AIModel]) -> Finding:
    share = Decimal(tally.mismatched) / Decimal(tally.reporting)
    model = models.get(tally.model_id)
    samples = sorted(tally.samples)[:SAMPLES]
    top = ", ".join(f"{name} ({n})" for name, n in tally.reported.most_common(3))
    return Finding(
        channel=tally.channel,
        model=model,
        model_name=model.name if model else tally.model_name,
        day=day,
        signal=MismatchFlag.Signal.REPORTED_MODEL,
        score=share.quantize(Decimal("0.0001")),
        detail=(
            f"{tally.mismatched} of {tally.reporting} responses ({share:.2%}) reported another model: {top}"
        )[:500],
        detail_message=stored(
            "upstream.mismatch.reported",
            mismatched=tally.mismatched,
            reporting=tally.reporting,
            share=f"{share:.2%}",
            top=top,
        ),
        evidence={
            "events": tally.events,
            "reporting": tally.reporting,
            "mismatched": tally.mismatched,
            "share": decimal_text(share),
            "threshold": decimal_text(REPORTED_SHARE),
            "min_events": REPORTED_MIN_EVENTS,
            "reported": [{"name": name, "count": n} for name, n in sorted(tally.reported.items())],
            "samples": [
                {"request_id": rid, "occurred_at": at.isoformat(), "requested": sent, "reported": rep}
                for at, rid, rep, sent in samples
            ],
        },
    )


def reported_model_findings(date_from: date, date_to: date) -> Iterator[Finding]:
    """Yield a finding per channel × model × day in [date_from, date_to] above the threshold."""
    names = ModelNames.load()
    models = {m.pk: m for m in AIModel.objects.all()}
    day = date_from
    while day <= date_to:
        for tally in _tallies(_day_rows(*day_window(day)), names):
            if (
                tally.mismatched >= REPORTED_MIN_EVENTS
                and Decimal(tally.mismatched) / Decimal(tally.reporting) > REPORTED_SHARE
            ):
                yield _finding(tally, day, models)
        day += timedelta(days=1)
