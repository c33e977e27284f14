"""LiteLLM: the ``StandardLoggingPayload`` its generic API logger posts (a JSON list of them).

Fields read (LiteLLM docs, proxy/logging_spec): ``id``, ``call_type``, ``status`` (success/failure),
``model`` and ``model_group`` (the name the caller used), ``custom_llm_provider``, ``model_id``/``api_base``
(the deployment: our upstream account), ``prompt_tokens``, ``completion_tokens``, ``startTime`` (Unix
seconds), ``response_cost`` (USD), ``metadata.user_api_key_hash``/``user_api_key_alias`` (the customer's
virtual key), ``hidden_params.batch_models`` (set for Batches API calls) and the provider's usage block
(``metadata.usage_object`` or ``response.usage``) for cache and reasoning tokens:
``cache_read_input_tokens``/``prompt_tokens_details.cached_tokens``, ``cache_creation_input_tokens`` and
``completion_tokens_details.reasoning_tokens``.

The model the upstream *answered* with is ``response.model`` (the provider's own response body, e.g.
``gpt-4o-2024-08-06`` for a request to ``gpt-4o``); it is kept as ``metadata.response_model`` when the payload
carries it, for the 货不对版 signal (``billing.upstream.mismatch``). ``model`` is the deployment's configured
model (``litellm_params.model``, our own routing, not the vendor's answer) and stays ``metadata.model``.
LiteLLM proxies from 1.81.7 may restamp ``response.model`` with the name the caller sent (LiteLLM issue
#22709) and ``turn_off_message_logging`` drops the response: then no reported model is recorded.
"""

from billing.usage.connectors.base import ConnectorError, count, ident, label, mapping
from billing.usage.events import MAX_UPSTREAM

# A reported model name longer than this is no model's (event model names have the same limit).
MAX_MODEL = 200


def _usage_block(record: dict) -> dict:
    for candidate in (
        mapping(record.get("metadata")).get("usage_object"),
        mapping(record.get("response")).get("usage"),
    ):
        if isinstance(candidate, dict):
            return candidate
    return {}


def to_canonical(record, *, source=None) -> dict:
    if not isinstance(record, dict):
        raise ConnectorError("non_field_errors", "each LiteLLM payload must be a JSON object")
    if not record.get("id"):
        raise ConnectorError("id", "is required (LiteLLM's request id)")
    metadata = mapping(record.get("metadata"))
    key = metadata.get("user_api_key_hash") or metadata.get("user_api_key_alias") or record.get("end_user")
    usage = _usage_block(record)
    prompt = count(record, "prompt_tokens")
    cache_read = count(usage, "cache_read_input_tokens") or count(
        mapping(usage.get("prompt_tokens_details")), "cached_tokens"
    )
    cache_write = count(usage, "cache_creation_input_tokens")
    # Anthropic-style usage counts cache tokens beside the prompt, OpenAI-style inside it; the canonical
    # prompt_tokens includes them, so widen it when they do not fit.
    if cache_read + cache_write > prompt:
        prompt += cache_read + cache_write
    completion = count(record, "completion_tokens")
    reasoning = min(count(mapping(usage.get("completion_tokens_details")), "reasoning_tokens"), completion)
    hidden = mapping(record.get("hidden_params"))
    call_type = record.get("call_type") if isinstance(record.get("call_type"), str) else ""
    cost = record.get("response_cost")
    metadata = {
        "connector": "litellm",
        "call_type": call_type,
        "provider": record.get("custom_llm_provider") or "",
        "model": record.get("model") or "",
        "trace_id": record.get("trace_id") or "",
    }
    reported = label(mapping(record.get("response")).get("model"), MAX_MODEL).strip()
    if reported:
        metadata["response_model"] = reported
    return {
        "request_id": ident(record["id"], "id"),
        "occurred_at": record.get("startTime"),
        "key": key,
        "model": record.get("model_group") or record.get("model"),
        "upstream_account": label(
            record.get("model_id") or hidden.get("model_id") or record.get("api_base"), MAX_UPSTREAM
        ),
        "prompt_tokens": prompt,
        "cache_read_tokens": cache_read,
        "cache_write_tokens": cache_write,
        "completion_tokens": completion,
        "reasoning_tokens": reasoning,
        "batch": bool(hidden.get("batch_models")) or "batch" in call_type,
        "status": "failed" if record.get("status") == "failure" else "success",
        "gateway_cost": cost if cost is not None else None,
        "gateway_cost_currency": "USD" if cost is not None else "",
        "metadata": metadata,
    }
