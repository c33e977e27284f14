"""The canonical usage event as the OpenAPI schema documents it (validation itself is ``events.py``)."""

from rest_framework import serializers

from billing.usage.events import (
    AUDIO_PLACES,
    MAX_KEY_FALLBACKS,
    MAX_METADATA_DEPTH,
    MAX_SERVICE_TIER,
    MAX_TOKENS,
)


class CanonicalEventSerializer(serializers.Serializer):
    request_id = serializers.CharField(
        max_length=200, help_text="Unique per gateway source; repeats are duplicates."
    )
    occurred_at = serializers.DateTimeField(
        help_text="ISO 8601 with a UTC offset (within ±15:59, whole seconds), or Unix seconds; from "
        "2000-01-01 to a day ahead."
    )
    key = serializers.CharField(max_length=200, help_text="The customer's gateway key (mapped by staff).")
    key_fallbacks = serializers.ListField(
        child=serializers.CharField(max_length=200),
        required=False,
        max_length=MAX_KEY_FALLBACKS,
        help_text="Keys tried in order when key names no customer (e.g. a key's alias, its team, the end "
        "user): the first one a mapping names is the customer and the event's stored key. Blanks and "
        "repeats are ignored; an event none of them names is stored unrated, its reason naming them all.",
    )
    model = serializers.CharField(max_length=200, help_text="Model name or alias as the gateway sent it.")
    upstream_account = serializers.CharField(
        required=False, max_length=120, help_text="Upstream key/account used."
    )
    prompt_tokens = serializers.IntegerField(
        min_value=0, max_value=MAX_TOKENS, help_text="All input tokens, cache reads/writes included."
    )
    cache_read_tokens = serializers.IntegerField(min_value=0, max_value=MAX_TOKENS, required=False, default=0)
    cache_write_tokens = serializers.IntegerField(
        min_value=0, max_value=MAX_TOKENS, required=False, default=0, help_text="5-minute writes."
    )
    cache_write_1h_tokens = serializers.IntegerField(
        min_value=0, max_value=MAX_TOKENS, required=False, default=0
    )
    completion_tokens = serializers.IntegerField(
        min_value=0, max_value=MAX_TOKENS, help_text="All output tokens, reasoning included."
    )
    reasoning_tokens = serializers.IntegerField(min_value=0, max_value=MAX_TOKENS, required=False, default=0)
    audio_prompt_tokens = serializers.IntegerField(
        min_value=0, max_value=MAX_TOKENS, required=False, default=0, help_text="In prompt_tokens."
    )
    audio_completion_tokens = serializers.IntegerField(
        min_value=0,
        max_value=MAX_TOKENS,
        required=False,
        default=0,
        help_text="Audio output, in completion_tokens.",
    )
    images = serializers.IntegerField(
        min_value=0, max_value=MAX_TOKENS, required=False, default=0, help_text="Images generated."
    )
    audio_seconds = serializers.DecimalField(
        max_digits=11,
        decimal_places=AUDIO_PLACES,
        min_value=0,
        required=False,
        help_text="Audio duration in seconds (at most 3 decimals), stored as audio_ms; or send audio_ms.",
    )
    audio_ms = serializers.IntegerField(
        min_value=0,
        max_value=MAX_TOKENS,
        required=False,
        default=0,
        help_text="Audio duration in milliseconds; must equal audio_seconds when both are sent.",
    )
    service_tier = serializers.CharField(
        required=False,
        max_length=MAX_SERVICE_TIER,
        help_text="The tier the request asked for (flex, priority…), stored lower-cased; a tier the price "
        "book does not price is rated at standard prices.",
    )
    batch = serializers.BooleanField(required=False, default=False, help_text="Sent through a batch API.")
    status = serializers.ChoiceField(
        choices=["success", "failed", "adjustment"],
        required=False,
        default="success",
        help_text="Failed requests are not charged. adjustment: a gateway quota adjustment (a refund or an "
        "extra charge of quota): every count 0, gateway_cost may be negative; stored, not charged.",
    )
    gateway_cost = serializers.DecimalField(
        max_digits=40,
        decimal_places=24,
        required=False,
        help_text="Cost the gateway computed, below 10^16 (more than 24 places are rounded); kept for "
        "comparison. Negative only on an adjustment.",
    )
    gateway_cost_currency = serializers.CharField(required=False, max_length=3)
    metadata = serializers.DictField(
        required=False,
        help_text=f"Free-form; stored as is (NaN and Infinity as null). No text with NUL characters, at most "
        f"{MAX_METADATA_DEPTH} levels deep.",
    )


class RowErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the row in the batch, from 0.")
    field = serializers.CharField()
    reason = serializers.CharField()


class BatchResultSerializer(serializers.Serializer):
    batch_id = serializers.IntegerField()
    accepted = serializers.IntegerField(help_text="New events stored (rated or unrated).")
    duplicates = serializers.IntegerField(
        help_text="Events whose request_id was already received: not charged again."
    )
    rejected = serializers.IntegerField(help_text="Rows refused; see errors.")
    unrated = serializers.IntegerField(help_text="Accepted but not priced yet (unknown key/model, no price).")
    errors = RowErrorSerializer(many=True)


class LiteLLMPayloadSerializer(serializers.Serializer):
    """The fields of LiteLLM's StandardLoggingPayload that the connector reads (connectors/litellm.py); the
    payload's other fields are accepted and ignored."""

    id = serializers.CharField(help_text="LiteLLM's request id: the event's request_id.")
    startTime = serializers.DecimalField(
        max_digits=20, decimal_places=6, coerce_to_string=False, required=False, help_text="Unix seconds."
    )
    model = serializers.CharField(required=False)
    model_group = serializers.CharField(required=False, help_text="The name the caller used; preferred.")
    prompt_tokens = serializers.IntegerField(required=False, min_value=0)
    completion_tokens = serializers.IntegerField(required=False, min_value=0)
    response_cost = serializers.DecimalField(
        max_digits=40, decimal_places=24, required=False, help_text="USD, kept for comparison."
    )
    status = serializers.ChoiceField(choices=["success", "failure"], required=False)
    metadata = serializers.DictField(
        required=False, help_text="user_api_key_hash or user_api_key_alias: the customer's key; usage_object."
    )
