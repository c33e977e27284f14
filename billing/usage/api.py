"""``POST /api/v1/usage/batches``: a gateway delivers up to 10,000 events, answered with counts and errors."""

import gzip
import json
import zlib
from decimal import Decimal

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.gateway.auth import GatewayTokenAuthentication, IsGatewaySource
from billing.usage.serializers import BatchResultSerializer, CanonicalEventSerializer
from billing.usage.services import (
    MAX_BATCH_EVENTS,
    BatchConflict,
    BatchTooLarge,
    body_hash,
    usage_batch_ingest,
)

# Bounds what a gzip body may inflate to (10,000 events are a few MB; a zip bomb is not).
MAX_INFLATED_BYTES = 64 * 1024 * 1024
FORMATS = ("generic", "litellm", "newapi", "openrouter")


class BodyError(ValueError):
    """The request body cannot be read as events (bad gzip, JSON or NDJSON); answered with 400."""


def body_records(raw: bytes, content_encoding: str = "") -> list:
    """Decode a JSON array, an object with ``events``, or NDJSON (optionally gzip-compressed)."""
    if "gzip" in content_encoding.lower():
        try:
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            raw = inflater.decompress(raw, MAX_INFLATED_BYTES)
            if inflater.unconsumed_tail:
                raise BodyError(f"The inflated body exceeds {MAX_INFLATED_BYTES} bytes.")
        except (zlib.error, gzip.BadGzipFile) as exc:
            raise BodyError(f"The body is not valid gzip: {exc}.") from exc
    try:
        text = raw.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise BodyError("The body must be UTF-8.") from exc
    if not text:
        raise BodyError("The body is empty.")
    try:
        if text[0] in "[{":
            try:
                data = json.loads(text, parse_float=Decimal)
            except json.JSONDecodeError:
                if text[0] != "{":
                    raise
                data = None  # NDJSON whose first line is an object
            if isinstance(data, list):
                return data
            if isinstance(data, dict):
                return data["events"] if isinstance(data.get("events"), list) else [data]
        return [json.loads(line, parse_float=Decimal) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise BodyError(
            f"The body is neither a JSON array nor NDJSON: line {exc.lineno}: {exc.msg}."
        ) from exc
    # Valid JSON beyond what the decoder reads: an integer of over 4,300 digits, an exponent beyond
    # Decimal's (InvalidOperation, an ArithmeticError), or nesting too deep.
    except (ValueError, ArithmeticError) as exc:
        raise BodyError(f"The body holds a number too long or too large to read: {exc}.") from exc
    except RecursionError as exc:
        raise BodyError("The body is nested too deeply to read.") from exc


class UsageBatchView(APIView):
    authentication_classes = [GatewayTokenAuthentication]
    permission_classes = [IsGatewaySource]
    connector = None

    @extend_schema(
        operation_id="usage_batch_create",
        summary="Deliver a batch of usage events",
        description=(
            "A JSON array or NDJSON of canonical events (or of a connector's records with `connector=`), "
            f"at most {MAX_BATCH_EVENTS}, optionally `Content-Encoding: gzip`. Good rows are kept when "
            "others are rejected. Repeating an `Idempotency-Key` returns the first answer; the same key "
            "with a different body is refused with 409."
        ),
        request=CanonicalEventSerializer(many=True),
        parameters=[
            OpenApiParameter(
                "Idempotency-Key", str, OpenApiParameter.HEADER, description="Unique per batch."
            ),
            OpenApiParameter(
                "connector", str, enum=FORMATS, description="Record format; default: the source's."
            ),
        ],
        responses={
            200: BatchResultSerializer,
            400: OpenApiResponse(description="Unreadable body"),
            401: OpenApiResponse(description="Missing or bad token"),
            409: OpenApiResponse(description="Idempotency key reused for a different body"),
            413: OpenApiResponse(description="More than 10,000 events"),
        },
    )
    def post(self, request):
        source = request.auth
        fmt = self.connector or request.query_params.get("connector") or source.kind
        if fmt not in FORMATS:
            return Response(
                {"detail": f"Unknown connector {fmt!r}; use one of {', '.join(FORMATS)}."}, status=400
            )
        try:
            records = body_records(request.body, request.headers.get("Content-Encoding", ""))
        except BodyError as exc:
            return Response({"detail": str(exc)}, status=400)
        key = request.headers.get("Idempotency-Key", "").strip()
        if len(key) > 200:
            return Response({"detail": "The Idempotency-Key is longer than 200 characters."}, status=400)
        try:
            result = usage_batch_ingest(
                source=source, records=records, fmt=fmt, idempotency_key=key, request_hash=body_hash(records)
            )
        except BatchConflict as exc:
            return Response({"detail": str(exc)}, status=409)
        except BatchTooLarge as exc:
            return Response({"detail": str(exc)}, status=413)
        return Response(result.as_dict(), status=200)


class LiteLLMView(UsageBatchView):
    """LiteLLM's generic API logger posts its StandardLoggingPayload list here as is."""

    connector = "litellm"

    @extend_schema(
        operation_id="usage_litellm_create",
        summary="Receive LiteLLM's generic API logger callback",
        request={"application/json": {"type": "array", "items": {"type": "object"}}},
        responses={200: BatchResultSerializer},
    )
    def post(self, request):
        return super().post(request)
