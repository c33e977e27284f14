"""OpenRouter generation records (``GET /api/v1/generation?id=…``, bare or wrapped in ``data``).

Fields read: ``id``, ``created_at``, ``model``, ``provider_name`` (upstream), ``external_user`` (the
customer key; else ``user``), ``native_tokens_prompt``/``tokens_prompt``, ``native_tokens_completion``/
``tokens_completion``, ``native_tokens_cached``, ``native_tokens_reasoning``, ``cancelled``,
``total_cost`` (USD, kept as gateway cost).
"""

from billing.usage.connectors.base import ConnectorError, count, ident, label
from billing.usage.events import MAX_UPSTREAM


def to_canonical(record, *, source=None) -> dict:
    if isinstance(record, dict) and isinstance(record.get("data"), dict):
        record = record["data"]
    if not isinstance(record, dict) or not record.get("id"):
        raise ConnectorError("id", "is required (the generation id)")
    prompt = count(record, "native_tokens_prompt") or count(record, "tokens_prompt")
    completion = count(record, "native_tokens_completion") or count(record, "tokens_completion")
    cached = min(count(record, "native_tokens_cached"), prompt)
    reasoning = min(count(record, "native_tokens_reasoning"), completion)
    cost = record.get("total_cost")
    return {
        "request_id": ident(record["id"], "id"),
        "occurred_at": record.get("created_at"),
        "key": record.get("external_user") or record.get("user"),
        "model": record.get("model"),
        "upstream_account": label(record.get("provider_name"), MAX_UPSTREAM),
        "prompt_tokens": prompt,
        "cache_read_tokens": cached,
        "completion_tokens": completion,
        "reasoning_tokens": reasoning,
        "status": "failed" if record.get("cancelled") else "success",
        "gateway_cost": cost,
        "gateway_cost_currency": "USD" if cost is not None else "",
        "metadata": {"connector": "openrouter", "upstream_id": record.get("upstream_id") or ""},
    }
