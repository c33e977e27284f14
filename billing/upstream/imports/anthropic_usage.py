"""Anthropic's usage report for the Messages API (``GET /v1/organizations/usage_report/messages``).

A page's ``data`` holds buckets (``starting_at``/``ending_at`` RFC 3339, UTC; ``bucket_width`` 1d, 1h or
1m) whose ``results`` carry ``uncached_input_tokens``, ``cache_read_input_tokens``, ``cache_creation``
(``ephemeral_5m_input_tokens``, ``ephemeral_1h_input_tokens``), ``output_tokens`` and ``server_tool_use``,
grouped by ``api_key_id``, ``workspace_id``, ``model``, ``service_tier``, ``context_window`` (null when
not grouped by).

Anthropic's input is already uncached, as ours. The report has no request count (requests stay 0) and no
cost; web searches (``server_tool_use``) are not tokens and are not imported. ``service_tier`` "batch"
marks batch usage; results of workspaces, tiers and context windows of one key, model and day are summed.
"""

from django.utils.translation import gettext as _

from billing.upstream.imports import values
from billing.upstream.imports.buckets import buckets_parse
from billing.upstream.imports.rows import FieldProblem, ParsedFile, SourceRow


def _bounds(bucket: dict):
    return (
        values.instant(bucket.get("starting_at"), "starting_at"),
        values.instant(bucket.get("ending_at"), "ending_at"),
    )


def parse(content: bytes) -> ParsedFile:
    return buckets_parse(content, vendor="Anthropic", bounds=_bounds, row=_row, identity=_identity)


def _row(result, *, row: int, place: str, window) -> SourceRow:
    if not isinstance(result, dict):
        raise FieldProblem("result", _("A result must be an object."))
    if result.get("model") is None:
        raise FieldProblem("model", _("The result names no model: export the report with group_by[]=model."))
    creation = result.get("cache_creation")
    if creation is None:
        # Reports from before the 5-minute/1-hour split carry one figure for cache writes.
        write_5m = values.count(
            result.get("cache_creation_input_tokens"), "cache_creation_input_tokens", blank=0
        )
        write_1h = 0
    elif isinstance(creation, dict):
        write_5m = values.count(
            creation.get("ephemeral_5m_input_tokens"), "cache_creation.ephemeral_5m_input_tokens", blank=0
        )
        write_1h = values.count(
            creation.get("ephemeral_1h_input_tokens"), "cache_creation.ephemeral_1h_input_tokens", blank=0
        )
    else:
        raise FieldProblem("cache_creation", _("cache_creation must be an object."))
    tier = result.get("service_tier")
    if tier is not None and not isinstance(tier, str):
        raise FieldProblem("service_tier", _("service_tier must be text or null."))
    return SourceRow(
        row=row,
        where=place,
        window=window,
        model_name=values.text(result.get("model"), "model", max_length=200),
        key_id=values.text(result.get("api_key_id"), "api_key_id", max_length=200, required=False),
        is_batch=tier == "batch",
        input_tokens=values.count(result.get("uncached_input_tokens"), "uncached_input_tokens"),
        cache_read_tokens=values.count(
            result.get("cache_read_input_tokens"), "cache_read_input_tokens", blank=0
        ),
        cache_write_tokens=write_5m,
        cache_write_1h_tokens=write_1h,
        output_tokens=values.count(result.get("output_tokens"), "output_tokens"),
    )


def _identity(result, *, row: int, place: str, window) -> SourceRow:
    if not isinstance(result, dict):
        raise FieldProblem("result", "")
    return SourceRow(
        row=row,
        where=place,
        window=window,
        model_name=values.text(result.get("model"), "model", max_length=200),
        key_id=values.text(result.get("api_key_id"), "api_key_id", max_length=200, required=False),
        is_batch=result.get("service_tier") == "batch",
    )
