"""new-api / one-api consume logs: rows of its ``logs`` table or its CSV export.

Columns read: ``id``, ``created_at`` (Unix seconds), ``type`` (2 = consume, 5 = error; top-ups and
management rows are not usage), ``username``, ``token_name``, ``model_name``, ``quota``, ``prompt_tokens``,
``completion_tokens``, ``channel``/``channel_id`` (the upstream channel), ``is_stream``, ``request_id``
when present, and ``other`` (JSON text holding ``cache_tokens`` and ``cache_creation_tokens``).
``quota`` becomes the gateway cost: quota ÷ the source's ``quota_per_unit`` (500000 per USD by default),
in the source's cost currency. The customer key is ``token_name`` (else ``username``).
"""

import json
from decimal import Decimal, localcontext

from billing.usage.connectors import ConnectorError

CONSUME, ERROR = 2, 5
DEFAULT_QUOTA_PER_UNIT = Decimal(500000)


def _int(value) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return 0


def to_canonical(record, *, source=None) -> dict:
    if not isinstance(record, dict):
        raise ConnectorError("non_field_errors", "each log row must be an object")
    kind = _int(record.get("type", CONSUME))
    if kind not in (CONSUME, ERROR):
        raise ConnectorError("type", f"log type {kind} is not usage (2 = consume, 5 = error)")
    if not record.get("id") and not record.get("request_id"):
        raise ConnectorError("id", "is required")
    other = record.get("other") or {}
    if isinstance(other, str):
        try:
            other = json.loads(other) if other.strip() else {}
        except json.JSONDecodeError:
            other = {}
    cache_read = _int(other.get("cache_tokens"))
    cache_write = _int(other.get("cache_creation_tokens"))
    prompt = _int(record.get("prompt_tokens"))
    if cache_read + cache_write > prompt:
        prompt += cache_read + cache_write
    quota = record.get("quota")
    cost = None
    if quota not in (None, ""):
        per_unit = (source.quota_per_unit if source is not None else None) or DEFAULT_QUOTA_PER_UNIT
        with localcontext() as ctx:
            ctx.prec = 40
            cost = Decimal(str(quota)) / per_unit
    channel = record.get("channel") or record.get("channel_id") or record.get("channel_name") or ""
    return {
        "request_id": str(record.get("request_id") or f"log-{record['id']}"),
        "occurred_at": record.get("created_at"),
        "key": record.get("token_name") or record.get("username"),
        "model": record.get("model_name"),
        "upstream_account": f"channel:{channel}" if channel != "" else "",
        "prompt_tokens": prompt,
        "cache_read_tokens": cache_read,
        "cache_write_tokens": cache_write,
        "completion_tokens": _int(record.get("completion_tokens")),
        "status": "failed" if kind == ERROR else "success",
        "gateway_cost": cost,
        "gateway_cost_currency": (source.cost_currency if source is not None else "USD")
        if cost is not None
        else "",
        "metadata": {
            "connector": "newapi",
            "quota": str(quota) if quota is not None else "",
            "user": record.get("username") or "",
        },
    }
