"""``POST /api/v1/usage/batches``: a gateway delivers up to 10,000 events, answered with counts and errors.

Each endpoint reads its body under its own limit (``common.api_input``), gzip included: the compressed
body and what it inflates to are both bounded, and either over the limit is a 413 that says it.
"""

import io
import json
import re
import zlib
from decimal import Decimal

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.usage.auth import GatewayTokenAuthentication, IsGatewaySource
from billing.usage.connectors.base import RecordsRefused
from billing.usage.connectors.registry import records_checked
from billing.usage.events import UnreadableRecord
from billing.usage.files import UTF8_BOM, ndjson_records
from billing.usage.row_errors import row_reason_stored
from billing.usage.serializers import (
    BatchResultSerializer,
    CanonicalEventSerializer,
    LiteLLMPayloadSerializer,
)
from billing.usage.services import (
    MAX_BATCH_EVENTS,
    BatchConflict,
    BatchTooLarge,
    body_hash,
    usage_batch_ingest,
)
from common.api_input import CONTROL_CHARACTERS, MIB, body_read, body_too_large
from common.api_schema import NOT_ACCEPTABLE, SESSION_REFUSED, error, too_large
from common.stored_text import stored_render

# 10,000 canonical events with every field and some metadata are about 7 MB (the connectors' records are
# smaller); twice that leaves room for pretty-printed JSON and richer metadata.
MAX_BATCH_BYTES = 16 * MIB
# A body's first line (NDJSON's lines end at \n, \r\n or a lone \r, as ``files._lines`` reads them).
FIRST_LINE = re.compile(rb"[^\r\n]*")
# LiteLLM's generic logger posts up to 512 StandardLoggingPayloads (messages and response included, ~13 KB
# each) by default, about 7 MB; the headroom covers larger batches and longer conversations.
MAX_LITELLM_BYTES = 32 * MIB
MAX_IDEMPOTENCY_KEY = 200
FORMATS = ("generic", "litellm", "newapi", "openrouter")
IDEMPOTENCY_KEY_PATTERN = rf"^[^{CONTROL_CHARACTERS}]{{0,{MAX_IDEMPOTENCY_KEY}}}$"


class BodyError(ValueError):
    """The request body cannot be read as events (bad gzip, JSON or NDJSON); answered with 400."""


class UnsupportedEncoding(APIException):
    status_code = 415
    default_code = "unsupported_encoding"


def body_inflate(raw: bytes, content_encoding: str, *, limit_bytes: int) -> bytes:
    """Return the body as sent, or inflated when gzip-compressed, refusing more than ``limit_bytes`` inflated.

    Every gzip member is read (a multi-member body loses nothing) and a truncated one is an error, so no
    event is silently dropped.
    """
    codings = [c.strip().lower() for c in content_encoding.split(",")]
    codings = [c for c in codings if c not in ("", "identity")]
    if not codings:
        return raw
    if codings not in (["gzip"], ["x-gzip"]):
        raise UnsupportedEncoding(
            _("Content-Encoding %(encoding)s is not supported; send the body as is or gzip-compressed.")
            % {"encoding": content_encoding}
        )
    inflated = bytearray()
    try:
        while raw:
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            inflated += inflater.decompress(raw, limit_bytes + 1 - len(inflated))
            if len(inflated) > limit_bytes:
                raise body_too_large(limit_bytes=limit_bytes, limit_events=MAX_BATCH_EVENTS, inflated=True)
            if not inflater.eof:
                raise BodyError(_("The gzip body is truncated."))
            raw = inflater.unused_data
    except zlib.error as exc:
        raise BodyError(_("The body is not valid gzip: %(error)s.") % {"error": exc}) from exc
    return bytes(inflated)


def body_records(raw: bytes) -> list:
    """Decode a JSON array, an object with ``events`` (or one event), or NDJSON.

    A leading byte-order mark is ignored. An array is one document: what cannot be read in it refuses the
    body. A body starting with ``{`` is NDJSON only if its first line is a JSON value on its own; otherwise
    (a pretty-printed object, or one cut short) it is one document too, refused whole if it cannot be read.
    NDJSON is read a line at a time by the files' reader (``files.ndjson_records``): a line that cannot be
    read is that row's error naming its line (blank lines counted) and the other lines are kept, as any bad
    row of a batch is; only a body none of whose lines can be read is refused, naming the first line's
    problem.
    """
    raw = raw.removeprefix(UTF8_BOM)
    body = raw.strip()
    if not body:
        raise BodyError(_("The body is empty."))
    if body[:1] in (b"[", b"{"):
        try:
            data = json.loads(body.decode("utf-8"), parse_float=Decimal)
        # UnicodeDecodeError and JSONDecodeError are ValueErrors, and so is an integer of over 4,300 digits;
        # an exponent beyond Decimal's is an ArithmeticError (InvalidOperation), too deep a RecursionError.
        except (ValueError, ArithmeticError, RecursionError) as exc:
            if body[:1] == b"[" or not _first_line_is_a_value(body):
                raise _document_refusal(exc) from exc
        else:
            return data if isinstance(data, list) else _object_events(data)
    records = list(ndjson_records(io.BytesIO(raw)))  # not stripped: leading blank lines are lines too
    if all(isinstance(record, UnreadableRecord) for record in records):
        message = _("The body is neither a JSON array nor NDJSON: %(problem)s.")
        reason = records[0].reason  # English, as row errors keep it: said here in the reader's language
        raise BodyError(message % {"problem": stored_render(row_reason_stored(reason), reason)})
    return records


def _first_line_is_a_value(body: bytes) -> bool:
    """Whether the body's first line is a whole JSON value: NDJSON's first record, not the start of a
    longer document. A line the decoder cannot read for its limits (not its syntax) counts as one: the
    NDJSON reader names its problem."""
    try:
        json.loads(FIRST_LINE.match(body).group().decode("utf-8"), parse_float=Decimal)
    except json.JSONDecodeError:
        return False
    except (ValueError, ArithmeticError, RecursionError):
        return True
    return True


def _object_events(data: dict) -> list:
    return data["events"] if isinstance(data.get("events"), list) else [data]


def _document_refusal(exc: Exception) -> BodyError:
    """Why a body that is one JSON document (an array, or an object over several lines) cannot be read."""
    if isinstance(exc, UnicodeDecodeError):
        return BodyError(_("The body must be UTF-8."))
    if isinstance(exc, json.JSONDecodeError):
        return BodyError(
            _("The body is neither a JSON array nor NDJSON: line %(line)s, column %(column)s: %(error)s.")
            % {"line": exc.lineno, "column": exc.colno, "error": exc.msg}
        )
    if isinstance(exc, RecursionError):
        return BodyError(_("The body is nested too deeply to read."))
    return BodyError(_("The body holds a number too long or too large to read: %(error)s.") % {"error": exc})


def idempotency_key(request) -> str:
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > MAX_IDEMPOTENCY_KEY:
        message = _("The Idempotency-Key header is longer than %(limit)s characters.")
        raise BodyError(message % {"limit": MAX_IDEMPOTENCY_KEY})
    if not re.fullmatch(IDEMPOTENCY_KEY_PATTERN, key):
        raise BodyError(_("The Idempotency-Key header holds control characters."))
    return key


def _responses(limit_bytes: int) -> dict:
    return {
        200: BatchResultSerializer,
        400: error(
            "The body is not gzip, UTF-8, a JSON array or NDJSON; an unknown `connector`; a bad "
            "`Idempotency-Key` (over 200 characters or holding control characters); or new-api logs from "
            "its user log API, whose ids are not the rows' own (send the admin export)."
        ),
        401: error("Missing, unknown or disabled gateway token."),
        403: error(SESSION_REFUSED),
        406: error(NOT_ACCEPTABLE),
        409: error("The `Idempotency-Key` was used before for a different body."),
        413: too_large(
            f"The body is over {limit_bytes} bytes, sent or once inflated, or holds more than "
            f"{MAX_BATCH_EVENTS} events."
        ),
        415: error("A `Content-Encoding` other than gzip."),
    }


IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "maxLength": MAX_IDEMPOTENCY_KEY, "pattern": IDEMPOTENCY_KEY_PATTERN},
    OpenApiParameter.HEADER,
    description="Unique per batch: a retry with the same key and body returns the first answer.",
)


class UsageBatchView(APIView):
    authentication_classes = [GatewayTokenAuthentication]
    permission_classes = [IsGatewaySource]
    connector = None
    max_body_bytes = MAX_BATCH_BYTES

    @extend_schema(
        operation_id="usage_batch_create",
        summary="Deliver a batch of usage events",
        description=(
            "A JSON array or NDJSON of canonical events (or of a connector's records with `connector=`), "
            f"at most {MAX_BATCH_EVENTS} events and {MAX_BATCH_BYTES} bytes ({MAX_BATCH_BYTES // MIB} MiB), "
            "optionally `Content-Encoding: gzip` (then at most that much both compressed and inflated). "
            "Good rows are kept when others are rejected (an NDJSON line that is not JSON is its row's "
            "error, naming the line). Repeating an `Idempotency-Key` returns the first answer; the same key "
            "with a different body is refused with 409."
        ),
        request={
            "application/json": CanonicalEventSerializer(many=True),
            "application/x-ndjson": CanonicalEventSerializer(many=True),
        },
        parameters=[
            IDEMPOTENCY_KEY,
            OpenApiParameter(
                "connector", str, enum=FORMATS, description="Record format; default: the source's."
            ),
        ],
        responses=_responses(MAX_BATCH_BYTES),
    )
    def post(self, request):
        source = request.auth
        fmt = self.connector or request.query_params.get("connector") or source.kind
        if fmt not in FORMATS:
            return Response(
                {
                    "detail": _("Unknown connector %(connector)r; use one of %(formats)s.")
                    % {"connector": fmt, "formats": ", ".join(FORMATS)}
                },
                status=400,
            )
        limits = {"limit_bytes": self.max_body_bytes, "limit_events": MAX_BATCH_EVENTS}
        try:
            key = idempotency_key(request)
            raw = body_read(request, **limits)
            encoding = request.headers.get("Content-Encoding", "")
            records = body_records(body_inflate(raw, encoding, limit_bytes=self.max_body_bytes))
            records = list(records_checked(fmt, records))
        except (BodyError, RecordsRefused) as exc:
            return Response({"detail": str(exc)}, status=400)
        try:
            result = usage_batch_ingest(
                source=source, records=records, fmt=fmt, idempotency_key=key, request_hash=body_hash(records)
            )
        except BatchConflict as exc:
            return Response({"detail": str(exc)}, status=409)
        except BatchTooLarge:
            message = _("A batch holds at most %(limit)s events, not %(count)s.")
            return Response(
                {"detail": message % {"limit": MAX_BATCH_EVENTS, "count": len(records)}, **limits}, status=413
            )
        return Response(result.as_dict(), status=200)


class LiteLLMView(UsageBatchView):
    """LiteLLM's generic API logger posts its StandardLoggingPayload list here as is."""

    connector = "litellm"
    max_body_bytes = MAX_LITELLM_BYTES

    @extend_schema(
        operation_id="usage_litellm_create",
        summary="Receive LiteLLM's generic API logger callback",
        description=(
            f"LiteLLM's payload list as its generic API logger posts it: at most {MAX_BATCH_EVENTS} payloads "
            f"and {MAX_LITELLM_BYTES} bytes ({MAX_LITELLM_BYTES // MIB} MiB), gzip-compressed or not "
            "(then at most that much both compressed and inflated)."
        ),
        request={"application/json": LiteLLMPayloadSerializer(many=True)},
        parameters=[IDEMPOTENCY_KEY],
        responses=_responses(MAX_LITELLM_BYTES),
    )
    def post(self, request):
        return super().post(request)
