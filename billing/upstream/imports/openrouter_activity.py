"""OpenRouter's activity: the ``/api/v1/activity`` JSON (``{"data": [item, …]}``) or the activity CSV
export, one row per UTC day × model × endpoint (provider) with ``date, model, model_permaslug, endpoint_id,
provider_name, usage, byok_usage_inference, requests, prompt_tokens, completion_tokens,
reasoning_tokens``.

OpenRouter reports no cache counts: ``prompt_tokens`` (all input, cached or not) is stored as input and
the row is marked without cache counts, so reconciliation compares total input only. ``completion_tokens``
includes reasoning. ``usage`` is what OpenRouter charged, in USD (its credits); ``byok_usage_inference`` is
what a bring-your-own-key provider charged that key, not OpenRouter: it is not our cost here. The days
are UTC days (OpenRouter's "completed UTC days"); the rows of one day and model (several endpoints) are
summed.
"""

from django.utils.translation import gettext as _

from billing.upstream.imports import values
from billing.upstream.imports.rows import (
    FieldProblem,
    FileRefused,
    ParsedFile,
    RowError,
    SourceRow,
    identity_of,
)
from billing.upstream.imports.source import csv_rows, json_load

REQUIRED = ("date", "model", "usage", "requests", "prompt_tokens", "completion_tokens", "reasoning_tokens")
OPTIONAL = ("model_permaslug", "endpoint_id", "provider_name", "byok_usage_inference")
# The SDKs' spelling of the same fields, should a file be saved from one.
CAMEL = {
    "modelPermaslug": "model_permaslug",
    "endpointId": "endpoint_id",
    "providerName": "provider_name",
    "byokUsageInference": "byok_usage_inference",
    "promptTokens": "prompt_tokens",
    "completionTokens": "completion_tokens",
    "reasoningTokens": "reasoning_tokens",
}
ZONE = "UTC"


def parse(content: bytes) -> ParsedFile:
    if content.lstrip()[:1] in (b"{", b"["):
        return ParsedFile(items=list(_json_items(content)))
    rows = csv_rows(
        content, required=REQUIRED, optional=OPTIONAL, allow_unknown=True, format_name="OpenRouter activity"
    )
    return ParsedFile(items=(_item(r.values, row=r.number, place="") for r in rows))


def _json_items(content: bytes):
    document = json_load(content)
    data = document.get("data") if isinstance(document, dict) else document
    if not isinstance(data, list):
        raise FileRefused(
            _('This is not OpenRouter activity: expected {"data": [row, …]} or a list of rows.')
        )
    for number, item in enumerate(data, start=1):
        # Translators: where a row is in a JSON file, e.g. "data item 3".
        place = _("data item %(n)s") % {"n": number}
        if not isinstance(item, dict):
            yield RowError(number, "data", _("An activity row must be an object."), place)
            continue
        yield _item({CAMEL.get(k, k): v for k, v in item.items()}, row=number, place=place)


def _item(record: dict, *, row: int, place: str):
    try:
        model = values.text(record.get("model"), "model", max_length=200)
        return SourceRow(
            row=row,
            where=place,
            day=values.day(record.get("date"), "date"),
            zone=ZONE,
            model_name=model,
            requests=values.count(record.get("requests"), "requests"),
            input_tokens=values.count(record.get("prompt_tokens"), "prompt_tokens"),
            output_tokens=values.count(record.get("completion_tokens"), "completion_tokens"),
            reasoning_tokens=values.count(record.get("reasoning_tokens"), "reasoning_tokens", blank=0),
            cost=_usage(record.get("usage")),
            currency="USD",
            has_cache_counts=False,
            extra={"permaslug": str(record.get("model_permaslug") or "")},
        )
    except FieldProblem as problem:
        return RowError(
            row, problem.field, problem.message, place, identity_of(_identity, record, row, place)
        )


def _identity(record: dict, row: int, place: str) -> SourceRow:
    return SourceRow(
        row=row,
        where=place,
        day=values.day(record.get("date"), "date"),
        zone=ZONE,
        model_name=values.text(record.get("model"), "model", max_length=200),
    )


def _usage(value):
    cost = values.amount(value, "usage")
    if cost is None:
        raise FieldProblem("usage", _("usage (the cost in USD) is missing."))
    return cost
