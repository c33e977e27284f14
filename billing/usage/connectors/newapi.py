"""new-api / one-api consume logs: rows of its ``logs`` table or its CSV export.

Columns read: ``id``, ``created_at`` (Unix seconds), ``type`` (2 = consume, 5 = error; top-ups and
management rows are not usage), ``username``, ``token_name``, ``model_name``, ``quota``, ``prompt_tokens``,
``completion_tokens``, ``channel``/``channel_id`` (the upstream channel), ``is_stream``, ``request_id``
when present, and ``other`` (JSON text holding ``cache_tokens`` and ``cache_creation_tokens``, and, when the
channel's model mapping sent the request upstream under another name, ``is_model_mapped`` and
``upstream_model_name``).
``quota`` becomes the gateway cost: quota ÷ the source's ``quota_per_unit`` (500000 per USD by default),
in the source's cost currency. The customer key is ``token_name`` (else ``username``).

``other.upstream_model_name`` is the model the channel was asked for upstream (new-api logs it only when a
model mapping rewrote the request's model); it is kept as ``metadata.response_model``, the one key the
货不对版 signal (``billing.upstream.mismatch``) reads whatever the gateway. new-api logs no model from the
upstream's response body, so a channel that answers with another model than it was sent is not seen here.
"""

import json
from decimal import Decimal, InvalidOperation, localcontext

from billing.usage.connectors.base import ConnectorError, count, ident, label, mapping
from billing.usage.events import MAX_UPSTREAM

CONSUME, ERROR = 2, 5
DEFAULT_QUOTA_PER_UNIT = Decimal(500000)
# A reported model name longer than this is no model's (event model names have the same limit).
MAX_MODEL = 200
# A quota beyond this is no log's (a year of the largest deployment's traffic is far less); refused before
# dividing, where a huge exponent would overflow the decimal context.
MAX_QUOTA = Decimal(10) ** 30


def _other(value) -> dict:
    """The ``other`` column: JSON text (or an object) holding cache counts; unreadable means none."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else {}
        except (ValueError, RecursionError):
            return {}
    return mapping(value)


def _quota(value) -> Decimal:
    try:
        quota = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ConnectorError("quota", "must be a number") from None
    if not quota.is_finite() or abs(quota) > MAX_QUOTA:
        raise ConnectorError("quota", f"must be a number of at most {MAX_QUOTA:.0e} units")
    return quota


def to_canonical(record, *, source=None) -> dict:
    if not isinstance(record, dict):
        raise ConnectorError("non_field_errors", "each log row must be an object")
    try:
        kind = count(record, "type") if "type" in record else CONSUME
    except ConnectorError:
        kind = None
    if kind not in (CONSUME, ERROR):
        named = f"log type {kind}" if kind is not None and abs(kind) < 1000 else "this log type"
        raise ConnectorError("type", f"{named} is not usage (2 = consume, 5 = error)")
    if not record.get("id") and not record.get("request_id"):
        raise ConnectorError("id", "is required")
    other = _other(record.get("other"))
    cache_read = count(other, "cache_tokens")
    cache_write = count(other, "cache_creation_tokens")
    prompt = count(record, "prompt_tokens")
    if cache_read + cache_write > prompt:
        prompt += cache_read + cache_write
    quota = record.get("quota")
    cost = None
    if quota not in (None, ""):
        quota = _quota(quota)
        per_unit = (source.quota_per_unit if source is not None else None) or DEFAULT_QUOTA_PER_UNIT
        with localcontext() as ctx:
            ctx.prec = 40
            cost = quota / per_unit
    channel = record.get("channel") or record.get("channel_id") or record.get("channel_name") or ""
    channel = label(channel, MAX_UPSTREAM - len("channel:"))
    request_id = record.get("request_id")
    metadata = {
        "connector": "newapi",
        "quota": str(quota) if quota is not None else "",
        "user": record.get("username") or "",
    }
    reported = label(other.get("upstream_model_name"), MAX_MODEL).strip()
    if reported:
        metadata["response_model"] = reported
    return {
        "request_id": ident(request_id, "request_id") if request_id else f"log-{ident(record['id'], 'id')}",
        "occurred_at": record.get("created_at"),
        "key": record.get("token_name") or record.get("username"),
        "model": record.get("model_name"),
        "upstream_account": f"channel:{channel}" if channel != "" else "",
        "prompt_tokens": prompt,
        "cache_read_tokens": cache_read,
        "cache_write_tokens": cache_write,
        "completion_tokens": count(record, "completion_tokens"),
        "status": "failed" if kind == ERROR else "success",
        "gateway_cost": cost,
        "gateway_cost_currency": (source.cost_currency if source is not None else "USD")
        if cost is not None
        else "",
        "metadata": metadata,
    }
