"""What API clients send: a body under the limit its endpoint sets, parameters without control characters.

Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (2.5 MB by default) stays the limit of forms and of every view that
reads ``request.body``. An API endpoint that promises more (a usage batch of 10,000 events, LiteLLM's logger
posts) or needs far less (a price quote) reads the stream itself through ``body_read`` with its own limit, so
the setting is never raised for the whole site, and a body over the limit is a 413 that says the limit.
"""

import datetime as dt

from django.core.validators import RegexValidator
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework.exceptions import APIException

MIB = 1024 * 1024

# C0 and C1 control characters (NUL included: PostgreSQL cannot store it in text) have no place in a key,
# a model name or a header value; refusing them at the door names the parameter instead of failing deeper.
CONTROL_CHARACTERS = r"\u0000-\u001f\u007f-\u009f"
AS_OF_EXPECTED = gettext_lazy("Enter the as-of date as YYYY-MM-DD, such as 2026-06-30.")


def query_date(raw: str) -> dt.date | None:
    """A report's ``as_of`` query parameter: blank is today, ``YYYY-MM-DD`` that day, anything else None
    (answer ``AS_OF_EXPECTED`` on the field). Only the ISO form: ``2026-6-3`` or a week date is refused,
    so a client never gets a date it did not mean."""
    raw = raw.strip()
    if not raw:
        return timezone.localdate()
    if len(raw) != 10:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        return None


printable_text = RegexValidator(
    rf"^[^{CONTROL_CHARACTERS}]*[^\s{CONTROL_CHARACTERS}][^{CONTROL_CHARACTERS}]*$",
    gettext_lazy("Must hold visible characters and no control characters."),
    code="control_characters",
)


class BodyTooLarge(APIException):
    """A body over its endpoint's limit: 413 with the limit in bytes (and in events where it counts them)."""

    status_code = 413
    default_code = "body_too_large"

    def __init__(self, message: str, *, limit_bytes: int, limit_events: int | None = None):
        super().__init__(message)
        # Plain values, not DRF's ErrorDetail strings, so the limits stay numbers in the JSON answer.
        self.detail = {"detail": message, "limit_bytes": limit_bytes}
        if limit_events is not None:
            self.detail["limit_events"] = limit_events


def body_too_large(
    *, limit_bytes: int, limit_events: int | None = None, inflated: bool = False
) -> BodyTooLarge:
    if inflated:
        message = _("The request body inflates to more than the %(limit)s bytes this endpoint accepts.")
    else:
        message = _("The request body is larger than the %(limit)s bytes this endpoint accepts.")
    return BodyTooLarge(
        message % {"limit": limit_bytes},
        limit_bytes=limit_bytes,
        limit_events=limit_events,
    )


def declared_length(request) -> int:
    try:
        return max(int(request.META.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0


def body_read(request, *, limit_bytes: int, limit_events: int | None = None) -> bytes:
    """Return the body of ``request`` (Django's or DRF's), refusing one over ``limit_bytes`` with 413.

    A Content-Length over the limit is refused before anything is read; a body whose length was not
    declared is read to one byte past the limit and no further.
    """
    if declared_length(request) > limit_bytes:
        raise body_too_large(limit_bytes=limit_bytes, limit_events=limit_events)
    body = request.read(limit_bytes + 1)
    if len(body) > limit_bytes:
        raise body_too_large(limit_bytes=limit_bytes, limit_events=limit_events)
    return body


def field_errors_answer(errors: dict) -> dict:
    """DRF's errors by field, plus a ``detail`` naming the first bad one for clients that read only that."""
    field, messages = next(iter(errors.items()))
    return {**errors, "detail": f"{field}: {messages[0]}"}
