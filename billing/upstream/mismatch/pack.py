"""The dispute pack for a vendor: the evidence rows as CSV and a PDF summary, for one flag or a month.

The CSV is one table for every signal, a row per piece of evidence (``row`` says which): ``event`` — a
request whose response named another model (request id, time, requested and reported model, tokens);
``day`` and ``history`` — the channel's figures for the day and the other channels' daily figures they
were compared with; ``vendor_row`` — the vendor's reported tokens and charge, priced at the named model
and at the model whose prices it matches. Columns a row does not use are empty.
"""

from collections.abc import Iterable, Iterator
from decimal import Decimal

from billing.documents.pdf import render_pdf
from billing.upstream.mismatch.selectors import flag_events
from billing.upstream.models import MismatchFlag

CSV_HEADER = (
    "flag",
    "signal",
    "channel",
    "model",
    "day",
    "row",
    "reference",
    "occurred_at",
    "requested_model",
    "reported_model",
    "requests",
    "prompt_tokens",
    "output_tokens",
    "prompt_per_request",
    "output_per_request",
    "z_prompt",
    "z_output",
    "vendor_cost",
    "currency",
    "expected_at_named_model",
    "matched_model",
    "expected_at_matched_model",
)


def _row(flag: MismatchFlag, kind: str, **values) -> list:
    base = {
        "flag": flag.pk,
        "signal": flag.signal,
        "channel": flag.channel.name,
        "model": flag.model_name,
        "day": flag.day.isoformat(),
        "row": kind,
    }
    base.update(values)
    return [base.get(column) for column in CSV_HEADER]


def _dec(value) -> Decimal | None:
    return Decimal(value) if value not in (None, "") else None


def _event_rows(flag: MismatchFlag) -> Iterator[list]:
    for event in flag_events(flag).iterator(chunk_size=2000):
        yield _row(
            flag,
            "event",
            reference=event.request_id,
            occurred_at=event.occurred_at,
            requested_model=event.model_name,
            reported_model=event.reported,
            requests=1,
            prompt_tokens=event.prompt_tokens,
            output_tokens=event.completion_tokens,
        )


def _shift_rows(flag: MismatchFlag) -> Iterator[list]:
    evidence = flag.evidence
    metrics = evidence.get("metrics", {})
    yield _row(
        flag,
        "day",
        reference=flag.channel.name,
        requests=evidence.get("requests"),
        prompt_per_request=_dec(metrics.get("prompt", {}).get("mean")),
        output_per_request=_dec(metrics.get("output", {}).get("mean")),
        z_prompt=_dec(metrics.get("prompt", {}).get("z")),
        z_output=_dec(metrics.get("output", {}).get("z")),
    )
    for point in evidence.get("points", []):
        yield _row(
            flag,
            "history",
            day=point["day"],
            reference=point["channel"],
            requests=point["requests"],
            prompt_per_request=_dec(point.get("prompt_mean")),
            output_per_request=_dec(point.get("output_mean")),
        )


def _vendor_rows(flag: MismatchFlag) -> Iterator[list]:
    for row in flag.evidence.get("rows", []):
        prompt = sum(
            row.get(name, 0)
            for name in ("input_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens")
        )
        yield _row(
            flag,
            "vendor_row",
            reference=row["vendor_usage"],
            requested_model=row.get("model_name"),
            requests=row.get("requests"),
            prompt_tokens=prompt,
            output_tokens=row.get("output_tokens"),
            vendor_cost=_dec(row.get("cost")),
            currency=row.get("currency"),
            expected_at_named_model=_dec(row.get("named_expected")),
            matched_model=row.get("match_model"),
            expected_at_matched_model=_dec(row.get("match_expected")),
        )


_ROWS = {
    MismatchFlag.Signal.REPORTED_MODEL: _event_rows,
    MismatchFlag.Signal.DISTRIBUTION_SHIFT: _shift_rows,
    MismatchFlag.Signal.PRICE_TABLE: _vendor_rows,
}


def pack_csv_rows(flags: Iterable[MismatchFlag]) -> Iterator[list]:
    """The header, then every flag's evidence rows (lazily: a month of events streams)."""
    yield list(CSV_HEADER)
    for flag in flags:
        yield from _ROWS[flag.signal](flag)


def pack_pdf(flags: list[MismatchFlag], *, title_period: str, language: str) -> bytes:
    """The summary for the vendor: the channel, each flag with its figures in words, sample evidence."""
    channel = flags[0].channel if flags else None
    return render_pdf(
        "upstream/mismatch/pack_pdf.html",
        {
            "flags": flags,
            "channel": channel,
            "contract": channel.contract if channel else None,
            "period": title_period,
            # The pack is the operator's letter to its vendor: the operator's letterhead (render_pdf).
            "customer": None,
        },
        language=language,
    )
