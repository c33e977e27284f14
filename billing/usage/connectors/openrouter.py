"""OpenRouter generation records (``GET /api/v1/generation?id=…``, bare or wrapped in ``data``).

Fields read: ``id``, ``created_at``, ``model``, ``provider_name`` (upstream), ``external_user`` (the
customer key; else ``user``), ``native_tokens_prompt``/``tokens_prompt``, ``native_tokens_completion``/
``tokens_completion``, ``native_tokens_cached``, ``native_tokens_reasoning``, ``cancelled``,
``total_cost`` (USD, kept as gateway cost).
"""

from billing.usage.connectors import ConnectorError


def _int(value) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def to_canonical(record, *, source=None) -> dict:
    if isinstance(record, dict) and isinstance(record.get("data"), dict):
        record = record["data"]
    if not isinstance(record, dict) or not record.get("id"):
        raise ConnectorError("id", "is required (the generation id)")
    prompt = _int(record.get("native_tokens_prompt")) or _int(record.get("tokens_prompt"))
    completion = _int(record.get("native_tokens_completion")) or _int(record.get("tokens_completion"))
    cached = min(_int(record.get("native_tokens_cached")), prompt)
    reasoning = min(_int(record.get("native_tokens_reasoning")), completion)
    cost = record.get("total_cost")
    return {
        "request_id": str(record["id"]),
        "occurred_at": record.get("created_at"),
        "key": record.get("external_user") or record.get("user"),
        "model": record.get("model"),
        "upstream_account": str(record.get("provider_name") or "")[:120],
        "prompt_tokens": prompt,
        "cache_read_tokens": cached,
        "completion_tokens": completion,
        "reasoning_tokens": reasoning,
        "status": "failed" if record.get("cancelled") else "success",
        "gateway_cost": cost,
        "gateway_cost_currency": "USD" if cost is not None else "",
        "metadata": {"connector": "openrouter", "upstream_id": record.get("upstream_id") or ""},
    }
