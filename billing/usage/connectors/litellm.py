"""LiteLLM: the ``StandardLoggingPayload`` its generic API logger posts (a JSON list of them).

Fields read (LiteLLM's ``litellm/types/utils.py``, ``StandardLoggingPayload``): ``id``, ``call_type``,
``status`` (success/failure), ``model`` and ``model_group`` (the name the caller used),
``custom_llm_provider``, ``model_id``/``api_base`` (the deployment: our upstream account, below),
``prompt_tokens``, ``completion_tokens``, ``startTime`` (Unix seconds), ``response_cost`` (USD), the
customer's key candidates (below), ``hidden_params.batch_models`` (set for Batches API calls),
``cost_breakdown.service_tier`` and the usage block (``metadata.usage_object``, else
``hidden_params.usage_object``, else ``response.usage``).

The customer is looked up by key candidates, in this order (``registry.KEY_LOOKUP``; the first one a
gateway key mapping names wins, and is the event's stored key): the proxy's virtual key hash
(``metadata.user_api_key_hash``), its alias (``user_api_key_alias``) and its team (``user_api_key_team_id``,
else ``team_id``; then ``user_api_key_team_alias``, else ``team_alias``). A proxy always sends its key hash,
so the alias or the team alone are mapped through these fallbacks (``key_fallbacks`` of the canonical event).
The proxy's administrator sets all three; the caller cannot.

The end user is a candidate only for traffic without a proxy key hash (the SDK's, which has no virtual key):
``end_user``, else ``metadata.user_api_key_end_user_id``, else ``model_parameters.user`` — where the SDK's
``completion(user=…)`` lands (LiteLLM fills ``end_user`` only on the proxy). The caller chooses it (the
request body's ``user``): behind a proxy it would let a caller whose key nobody mapped yet bill another
customer by naming that customer's mapped end user, so with a key hash present it is never tried.

The upstream account (which channel's contract the cost is owed on) is the first of: the deployment's id
(``model_id``, else ``hidden_params.model_id``: what the proxy's router logs, as before), the api base
(``api_base``, else ``hidden_params.api_base``: all SDK traffic has, since the SDK has no deployment ids),
the model group (``model_group``, the router's name for a group of deployments). A channel alias maps any of
them to its channel.

LiteLLM normalises every provider's usage to the OpenAI shape (``prompt_tokens`` counts cache reads and
writes), so the usage block is read as such:

- cache reads: ``cache_read_input_tokens``, else ``prompt_tokens_details.cached_tokens``;
- cache writes: ``cache_creation_input_tokens`` (Anthropic), else ``prompt_tokens_details.cache_write_tokens``
  or ``.cache_creation_tokens`` (the OpenAI naming LiteLLM keeps in sync);
- of those writes, the 1-hour ones: ``prompt_tokens_details.cache_creation_token_details``
  ``.ephemeral_1h_input_tokens`` (Anthropic's raw ``cache_creation`` object where a usage block keeps it).
  The rest are 5-minute writes, LiteLLM's base write rate, which it also applies to lifetimes it has no
  price of their own for;
- reasoning: ``completion_tokens_details.reasoning_tokens``;
- audio: ``prompt_tokens_details.audio_tokens`` (less the cached ones in ``cached_tokens_details``) and
  ``completion_tokens_details.audio_tokens``;
- images (image generation, edit and variation calls): ``output_image_count``, else the images in
  ``response.data``, else the ``n`` asked for (LiteLLM's own cost calculator counts the same way);
- audio seconds (transcription calls): ``hidden_params.audio_transcription_duration``, else
  ``response.duration``, else a ``{"type": "duration", "seconds": …}`` ``response.usage``.

The service tier is the one LiteLLM priced the request on (``cost_breakdown.service_tier``: blank for its
standard prices); a payload without a cost breakdown names the tier the provider answered with
(``response.service_tier``, else the usage block's).

The model the upstream *answered* with is ``response.model`` (the provider's own response body, e.g.
``gpt-4o-2024-08-06`` for a request to ``gpt-4o``); it is kept as ``metadata.response_model`` when the payload
carries it, for the 货不对版 signal (``billing.upstream.mismatch``). ``model`` is the deployment's configured
model (``litellm_params.model``, our own routing, not the vendor's answer) and stays ``metadata.model``.
LiteLLM proxies from 1.81.7 may restamp ``response.model`` with the name the caller sent (LiteLLM issue
#22709) and ``turn_off_message_logging`` drops the response: then no reported model is recorded.
"""

from billing.usage.connectors.base import ConnectorError, count, ident, label, mapping, milliseconds
from billing.usage.events import MAX_UPSTREAM

# A reported model name longer than this is no model's (event model names have the same limit).
MAX_MODEL = 200
# LiteLLM's call types (``CallTypes``) that generate images, and that transcribe audio; with or without
# the "a" of their async form.
IMAGE_CALLS = ("image_generation", "image_edit", "image_variation")
TRANSCRIPTION_CALLS = ("transcription",)


def _usage_block(record: dict) -> dict:
    for candidate in (
        mapping(record.get("metadata")).get("usage_object"),
        mapping(record.get("hidden_params")).get("usage_object"),
        mapping(record.get("response")).get("usage"),
    ):
        if isinstance(candidate, dict):
            return candidate
    return {}


def _key_candidates(record: dict, metadata: dict) -> list:
    """The customer's key candidates in lookup order (``registry.KEY_LOOKUP``), blanks and repeats left out;
    values that are no key (objects, lists, booleans) too: a stray field never costs the event its key.
    The end user (the caller's choice) only when there is no proxy key hash (the module docstring)."""
    parameters = mapping(record.get("model_parameters"))
    found: list = []
    for value in (
        metadata.get("user_api_key_hash"),
        metadata.get("user_api_key_alias"),
        metadata.get("user_api_key_team_id") or metadata.get("team_id"),
        metadata.get("user_api_key_team_alias") or metadata.get("team_alias"),
    ):
        if (value := _key(value)) is not None and value not in found:
            found.append(value)
    # Any hash at all, even one that is no key (an object), is a proxy's: fail closed.
    proxied = metadata.get("user_api_key_hash")
    if proxied is None or (isinstance(proxied, str) and not proxied.strip()):
        end_user = (
            record.get("end_user") or metadata.get("user_api_key_end_user_id") or parameters.get("user")
        )
        if (end_user := _key(end_user)) is not None and end_user not in found:
            found.append(end_user)
    return found


def _key(value) -> str | int | None:
    """``value`` as a key candidate (a string stripped, or an integer), else None (blank, or no key)."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def _upstream(record: dict, hidden: dict) -> str:
    """The deployment id, else the api base, else the model group (the order the module docstring gives)."""
    for value in (
        record.get("model_id"),
        hidden.get("model_id"),
        record.get("api_base"),
        hidden.get("api_base"),
        record.get("model_group"),
    ):
        if account := label(value, MAX_UPSTREAM).strip():
            return account
    return ""


def _call_is(call_type: str, kinds: tuple[str, ...]) -> bool:
    return call_type in kinds or call_type.removeprefix("a") in kinds


def _cache_writes(usage: dict, details: dict) -> tuple[int, int]:
    """The cache writes as (5-minute, 1-hour) tokens; writes of any other lifetime count as 5-minute."""
    total = (
        count(usage, "cache_creation_input_tokens")
        or count(details, "cache_write_tokens")
        or count(details, "cache_creation_tokens")
    )
    lifetimes = mapping(details.get("cache_creation_token_details")) or mapping(usage.get("cache_creation"))
    one_hour = count(lifetimes, "ephemeral_1h_input_tokens")
    named = sum(
        count(lifetimes, name)
        for name in (
            "ephemeral_5m_input_tokens",
            "ephemeral_30m_input_tokens",
            "ephemeral_12h_input_tokens",
        )
    )
    # The per-lifetime counts split the total; where they add up to more, they are the better count.
    total = max(total, named + one_hour)
    return total - one_hour, one_hour


def _images(record: dict, usage: dict) -> int:
    if usage.get("output_image_count") is not None:
        return count(usage, "output_image_count")
    data = mapping(record.get("response")).get("data")
    if isinstance(data, list):
        return len(data)
    asked = mapping(record.get("model_parameters"))
    return count(asked, "n") if asked.get("n") is not None else 1


def _audio_ms(record: dict, hidden: dict) -> int:
    response = mapping(record.get("response"))
    measured = hidden.get("audio_transcription_duration")
    if measured is not None:
        return milliseconds(measured, "hidden_params.audio_transcription_duration")
    if response.get("duration") is not None:
        return milliseconds(response["duration"], "response.duration")
    usage = mapping(response.get("usage"))
    if usage.get("type") == "duration" and usage.get("seconds") is not None:
        return milliseconds(usage["seconds"], "response.usage.seconds")
    return 0


def _service_tier(record: dict, usage: dict) -> str:
    breakdown = record.get("cost_breakdown")
    if isinstance(breakdown, dict) and "service_tier" in breakdown:
        tier = breakdown["service_tier"]
    else:
        tier = mapping(record.get("response")).get("service_tier") or usage.get("service_tier")
    return tier if isinstance(tier, str) else ""


def to_canonical(record, *, source=None) -> dict:
    if not isinstance(record, dict):
        raise ConnectorError("non_field_errors", "each LiteLLM payload must be a JSON object")
    if not record.get("id"):
        raise ConnectorError("id", "is required (LiteLLM's request id)")
    keys = _key_candidates(record, mapping(record.get("metadata")))
    usage = _usage_block(record)
    details = mapping(usage.get("prompt_tokens_details"))
    completion_details = mapping(usage.get("completion_tokens_details"))
    prompt = count(record, "prompt_tokens")
    cache_read = count(usage, "cache_read_input_tokens") or count(details, "cached_tokens")
    cache_write, cache_write_1h = _cache_writes(usage, details)
    # Anthropic-style usage counts cache tokens beside the prompt, OpenAI-style inside it; the canonical
    # prompt_tokens includes them, so widen it when they do not fit.
    if cache_read + cache_write + cache_write_1h > prompt:
        prompt += cache_read + cache_write + cache_write_1h
    completion = count(record, "completion_tokens")
    reasoning = min(count(completion_details, "reasoning_tokens"), completion)
    # Cached audio input is counted among the cache reads too; the canonical classes do not overlap.
    cached_audio = count(mapping(details.get("cached_tokens_details")), "audio_tokens")
    audio_prompt = max(count(details, "audio_tokens") - cached_audio, 0)
    hidden = mapping(record.get("hidden_params"))
    call_type = record.get("call_type") if isinstance(record.get("call_type"), str) else ""
    succeeded = record.get("status") != "failure"
    # A failed call generated nothing: what it asked for is no count of images or audio.
    images = _images(record, usage) if succeeded and _call_is(call_type, IMAGE_CALLS) else 0
    audio_ms = _audio_ms(record, hidden) if succeeded and _call_is(call_type, TRANSCRIPTION_CALLS) else 0
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
        "key": keys[0] if keys else None,
        "key_fallbacks": keys[1:],
        "model": record.get("model_group") or record.get("model"),
        "upstream_account": _upstream(record, hidden),
        "prompt_tokens": prompt,
        "cache_read_tokens": cache_read,
        "cache_write_tokens": cache_write,
        "cache_write_1h_tokens": cache_write_1h,
        "completion_tokens": completion,
        "reasoning_tokens": reasoning,
        "audio_prompt_tokens": audio_prompt,
        "audio_completion_tokens": count(completion_details, "audio_tokens"),
        "images": images,
        "audio_ms": audio_ms,
        "service_tier": _service_tier(record, usage),
        "batch": bool(hidden.get("batch_models")) or "batch" in call_type,
        "status": "success" if succeeded else "failed",
        "gateway_cost": cost if cost is not None else None,
        "gateway_cost_currency": "USD" if cost is not None else "",
        "metadata": metadata,
    }
