"""The generic daily usage CSV, which any vendor's console export can be mapped to (docs/upstream-imports.md
has the mapping per Chinese vendor):

``date,timezone,channel,model,requests,input_tokens,cache_read_tokens,cache_write_tokens,output_tokens,
reasoning_tokens,cost,currency``

* ``date`` — the vendor's day, YYYY-MM-DD; the row covers [date 00:00, next day 00:00) in ``timezone``
  (an IANA zone; blank or absent: the channel's reporting zone);
* ``channel`` — a channel's name or alias; blank or absent when the import is for one channel;
* ``input_tokens`` — *uncached* input; ``cache_read_tokens``/``cache_write_tokens`` — cached input read and
  written (both blank: the vendor reports no cache split, and the row is marked so);
* ``output_tokens`` includes ``reasoning_tokens``; ``requests`` and ``reasoning_tokens`` blank read as 0;
* ``cost`` in ``currency`` (ISO 4217), both blank when the export has no cost.
"""

from django.utils.translation import gettext as _

from billing.upstream.imports import values
from billing.upstream.imports.rows import FieldProblem, ParsedFile, RowError, SourceRow, identity_of
from billing.upstream.imports.source import csv_rows

REQUIRED = ("date", "model", "input_tokens", "output_tokens")
OPTIONAL = (
    "timezone",
    "channel",
    "requests",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost",
    "currency",
)
HEADER = (
    "date,timezone,channel,model,requests,input_tokens,cache_read_tokens,cache_write_tokens,output_tokens,"
    "reasoning_tokens,cost,currency"
)


def parse(content: bytes) -> ParsedFile:
    rows = csv_rows(content, required=REQUIRED, optional=OPTIONAL, format_name="generic usage")
    return ParsedFile(items=(_row(r.number, r.values, r.overflow) for r in rows))


def _row(number: int, record: dict, overflow: bool):
    try:
        if overflow:
            raise FieldProblem("row", _("The row has more cells than the header has columns."))
        output = values.count(record.get("output_tokens"), "output_tokens")
        reasoning = values.count(record.get("reasoning_tokens"), "reasoning_tokens", blank=0)
        if reasoning > output:
            raise FieldProblem(
                "reasoning_tokens",
                _(
                    "reasoning_tokens (%(reasoning)s) exceeds output_tokens (%(output)s), which includes "
                    "reasoning: add the reasoning tokens to output_tokens."
                )
                % {"reasoning": reasoning, "output": output},
            )
        cache_read, cache_write = record.get("cache_read_tokens", ""), record.get("cache_write_tokens", "")
        cost = values.amount(record.get("cost"), "cost")
        currency = record.get("currency", "")
        if cost is not None and not currency:
            raise FieldProblem("currency", _("A cost needs its currency."))
        return SourceRow(
            row=number,
            where="",
            day=values.day(record.get("date"), "date"),
            zone=values.zone(record.get("timezone")),
            channel_name=values.text(record.get("channel"), "channel", max_length=120, required=False),
            model_name=values.text(record.get("model"), "model", max_length=200),
            requests=values.count(record.get("requests"), "requests", blank=0),
            input_tokens=values.count(record.get("input_tokens"), "input_tokens"),
            cache_read_tokens=values.count(cache_read, "cache_read_tokens", blank=0),
            cache_write_tokens=values.count(cache_write, "cache_write_tokens", blank=0),
            output_tokens=output,
            reasoning_tokens=reasoning,
            cost=cost,
            currency=values.currency(currency) if currency else "",
            has_cache_counts=bool(cache_read or cache_write),
        )
    except FieldProblem as problem:
        return RowError(number, problem.field, problem.message, "", identity_of(_identity, number, record))


def _identity(number: int, record: dict) -> SourceRow:
    return SourceRow(
        row=number,
        where="",
        day=values.day(record.get("date"), "date"),
        zone=values.zone(record.get("timezone")),
        channel_name=values.text(record.get("channel"), "channel", max_length=120, required=False),
        model_name=values.text(record.get("model"), "model", max_length=200),
    )
