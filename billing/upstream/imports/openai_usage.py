"""OpenAI's organization usage for completions (``GET /v1/organization/usage/completions``).

A page's ``data`` holds buckets (``start_time``/``end_time`` in Unix seconds, UTC; ``bucket_width`` 1d, 1h
or 1m) whose ``results`` are ``organization.usage.completions.result`` objects, grouped by the request's
``group_by`` (``api_key_id``, ``model``, ``batch`` …; a field not grouped by is null).

OpenAI's ``input_tokens`` counts *all* input: cached reads (``input_cached_tokens``) and cache writes
(``input_cache_write_tokens``, newer responses) included. Ours is uncached input, so both are subtracted.
``output_tokens`` includes reasoning (the API reports no reasoning count). The API reports no cost
(the costs endpoint is per line item, not per model and day): cost stays unknown.
"""

from django.utils.translation import gettext as _

from billing.upstream.imports import values
from billing.upstream.imports.buckets import buckets_parse
from billing.upstream.imports.rows import FieldProblem, ParsedFile, SourceRow

RESULT_OBJECT = "organization.usage.completions.result"


def _bounds(bucket: dict):
    return values.epoch(bucket.get("start_time"), "start_time"), values.epoch(
        bucket.get("end_time"), "end_time"
    )


def parse(content: bytes) -> ParsedFile:
    return buckets_parse(content, vendor="OpenAI", bounds=_bounds, row=_row, identity=_identity)


def _row(result, *, row: int, place: str, window) -> SourceRow:
    if not isinstance(result, dict):
        raise FieldProblem("result", _("A result must be an object."))
    kind = result.get("object")
    if kind != RESULT_OBJECT:
        raise FieldProblem(
            "object",
            _("This result is %(object)s: only completions usage (%(expected)s) is imported.")
            % {"object": kind, "expected": RESULT_OBJECT},
        )
    if result.get("model") is None:
        raise FieldProblem("model", _("The result names no model: export the usage with group_by=model."))
    input_all = values.count(result.get("input_tokens"), "input_tokens")
    cached = values.count(result.get("input_cached_tokens"), "input_cached_tokens", blank=0)
    written = values.count(result.get("input_cache_write_tokens"), "input_cache_write_tokens", blank=0)
    if cached + written > input_all:
        raise FieldProblem(
            "input_cached_tokens",
            _(
                "input_cached_tokens (%(cached)s) and input_cache_write_tokens (%(written)s) exceed "
                "input_tokens (%(input)s), which includes them."
            )
            % {"cached": cached, "written": written, "input": input_all},
        )
    batch = result.get("batch")
    if batch is not None and not isinstance(batch, bool):
        raise FieldProblem("batch", _("batch must be true, false or null."))
    return SourceRow(
        row=row,
        where=place,
        window=window,
        model_name=values.text(result.get("model"), "model", max_length=200),
        key_id=values.text(result.get("api_key_id"), "api_key_id", max_length=200, required=False),
        is_batch=bool(batch),
        requests=values.count(result.get("num_model_requests"), "num_model_requests"),
        input_tokens=input_all - cached - written,
        cache_read_tokens=cached,
        cache_write_tokens=written,
        output_tokens=values.count(result.get("output_tokens"), "output_tokens"),
    )


def _identity(result, *, row: int, place: str, window) -> SourceRow:
    if not isinstance(result, dict) or result.get("object") != RESULT_OBJECT:
        raise FieldProblem("object", "")
    return SourceRow(
        row=row,
        where=place,
        window=window,
        model_name=values.text(result.get("model"), "model", max_length=200),
        key_id=values.text(result.get("api_key_id"), "api_key_id", max_length=200, required=False),
        is_batch=result.get("batch") is True,
    )
