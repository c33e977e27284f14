"""OpenRouter generation records (``GET /api/v1/generation?id=…``, bare or wrapped in ``data``).

Fields read: ``id``, ``created_at``, ``model``, ``provider_name`` (upstream), ``external_user`` (the
customer key; else ``user``), ``native_tokens_prompt``/``tokens_prompt``, ``native_tokens_completion``/
``tokens_completion``, ``native_tokens_cached``, ``native_tokens_reasoning``, ``cancelled``,
``total_cost`` (USD, kept as gateway cost).

The model that answered: ``model`` is the slug the generation ran under (what we rate), and each attempt in
``provider_responses`` names the endpoint's ``model_permaslug`` (the canonical, often dated, slug such as
``openai/gpt-4o-2024-08-06``). The permaslug of the last attempt that succeeded (HTTP 2xx), else a top-level
``model_permaslug`` (activity rows carry one), is kept as ``metadata.response_model`` for the 货不对版
signal (``billing.upstream.mismatch``).
"""

from billing.usage.connectors.base import ConnectorError, count, ident, label, mapping
from billing.usage.events import MAX_UPSTREAM

# A reported model name longer than this is no model's (event model names have the same limit).
MAX_MODEL = 200


def _answered_with(record: dict) -> str:
    """The permaslug of the last successful provider attempt, else the record's own; "" when neither."""
    attempts = record.get("provider_responses")
    for attempt in reversed(attempts if isinstance(attempts, list) else []):
        attempt = mapping(attempt)
        status = attempt.get("status")
        if isinstance(status, int) and not isinstance(status, bool) and 200 <= status < 300:
            slug = label(attempt.get("model_permaslug"), MAX_MODEL).strip()
            if slug:
                return slug
    return label(record.get("model_permaslug"), MAX_MODEL).strip()


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
    metadata = {"connector": "openrouter", "upstream_id": record.get("upstream_id") or ""}
    reported = _answered_with(record)
    if reported:
        metadata["response_model"] = reported
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
        "metadata": metadata,
    }
