"""LiteLLM: the ``StandardLoggingPayload`` its generic API logger posts (a JSON list of them).

Fields read (LiteLLM docs, proxy/logging_spec): ``id``, ``call_type``, ``status`` (success/failure),
``model`` and ``model_group`` (the name the caller used), ``custom_llm_provider``, ``model_id``/``api_base``
(the deployment: our upstream account), ``prompt_tokens``, ``completion_tokens``, ``startTime`` (Unix
seconds), ``response_cost`` (USD), ``metadata.user_api_key_hash``/``user_api_key_alias`` (the customer's
virtual key), ``hidden_params.batch_models`` (set for Batches API calls) and the provider's usage block
(``metadata.usage_object`` or ``response.usage``) for cache and reasoning tokens:
``cache_read_input_tokens``/``prompt_tokens_details.cached_tokens``, ``cache_creation_input_tokens`` and
``completion_tokens_details.reasoning_tokens``.
"""

from billing.usage.connectors import ConnectorError


def _int(value) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _usage_block(record: dict) -> dict:
    metadata = record.get("metadata") or {}
    for candidate in (metadata.get("usage_object"), (record.get("response") or {}).get("usage")):
        if isinstance(candidate, dict):
            return candidate
    return {}


def to_canonical(record, *, source=None) -> dict:
    if not isinstance(record, dict):
        raise ConnectorError("non_field_errors", "each LiteLLM payload must be a JSON object")
    if not record.get("id"):
        raise ConnectorError("id", "is required (LiteLLM's request id)")
    metadata = record.get("metadata") or {}
    key = metadata.get("user_api_key_hash") or metadata.get("user_api_key_alias") or record.get("end_user")
    usage = _usage_block(record)
    prompt = _int(record.get("prompt_tokens"))
    cache_read = _int(usage.get("cache_read_input_tokens")) or _int(
        (usage.get("prompt_tokens_details") or {}).get("cached_tokens")
    )
    cache_write = _int(usage.get("cache_creation_input_tokens"))
    # Anthropic-style usage counts cache tokens beside the prompt, OpenAI-style inside it; the canonical
    # prompt_tokens includes them, so widen it when they do not fit.
    if cache_read + cache_write > prompt:
        prompt += cache_read + cache_write
    completion = _int(record.get("completion_tokens"))
    reasoning = min(_int((usage.get("completion_tokens_details") or {}).get("reasoning_tokens")), completion)
    hidden = record.get("hidden_params") or {}
    call_type = record.get("call_type") or ""
    cost = record.get("response_cost")
    return {
        "request_id": str(record["id"]),
        "occurred_at": record.get("startTime"),
        "key": key,
        "model": record.get("model_group") or record.get("model"),
        "upstream_account": str(
            record.get("model_id") or hidden.get("model_id") or record.get("api_base") or ""
        )[:120],
        "prompt_tokens": prompt,
        "cache_read_tokens": cache_read,
        "cache_write_tokens": cache_write,
        "completion_tokens": completion,
        "reasoning_tokens": reasoning,
        "batch": bool(hidden.get("batch_models")) or "batch" in call_type,
        "status": "failed" if record.get("status") == "failure" else "success",
        "gateway_cost": cost if cost is not None else None,
        "gateway_cost_currency": "USD" if cost is not None else "",
        "metadata": {
            "connector": "litellm",
            "call_type": call_type,
            "provider": record.get("custom_llm_provider") or "",
            "model": record.get("model") or "",
            "trace_id": record.get("trace_id") or "",
        },
    }
