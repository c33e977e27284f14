"""The error answers of the API, for the OpenAPI schema: every operation lists each status it can answer.

Bodies are JSON whoever answers: the view, DRF (401, 403, 415), the access middlewares (403) or
``distributor.api_errors`` for anything else.
"""

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, in words.")


class BodyTooLargeSerializer(serializers.Serializer):
    """A body over the limit of its endpoint (413)."""

    detail = serializers.CharField()
    limit_bytes = serializers.IntegerField(help_text="The most this endpoint reads, in bytes.")
    limit_events = serializers.IntegerField(
        required=False, help_text="The most events one request may hold, where the endpoint counts them."
    )


# DRF's validation answer; no serializer describes it, so the schema spells it out.
FIELD_ERRORS_SCHEMA = {
    "type": "object",
    "description": "Each bad field or parameter, by name, maps to its messages.",
    "additionalProperties": {"oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}]},
}


def error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


def field_errors(description: str) -> OpenApiResponse:
    return OpenApiResponse(FIELD_ERRORS_SCHEMA, description=description)


def too_large(description: str) -> OpenApiResponse:
    return OpenApiResponse(BodyTooLargeSerializer, description=description)


# DRF's content negotiation answers this whatever the operation: every answer is JSON.
NOT_ACCEPTABLE = "The Accept header rules out application/json, the only type the API answers."

# The access middlewares answer these before a view runs, for a browser session sent along with the call.
SESSION_REFUSED = (
    "A signed-in session was sent along and may not do this: staff must have passed two-factor "
    "authentication, and auditors are read-only."
)
