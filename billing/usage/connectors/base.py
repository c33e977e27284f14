"""What every connector reads records with: ``ConnectorError`` and the helpers below.

A record may be any JSON value, so connectors read it only through these helpers: whatever it holds, a
connector answers a dict or a ``ConnectorError``, never another exception.
"""

import math
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from billing.usage.events import MAX_ID, MAX_TOKENS
from common.stored_text import stored_render


class ConnectorError(Exception):
    def __init__(self, field: str, reason: str):
        super().__init__(reason)
        self.field = field
        self.reason = reason


class RecordsRefused(ValueError):
    """A batch or file a connector refuses whole, before any of it is ingested: what is wrong can only be
    seen across its rows (``registry.records_checked``). ``stored`` is the reason as stored text
    (common.stored_text), for an upload's error; the message is its English."""

    def __init__(self, stored_message: dict):
        super().__init__(stored_render(stored_message))
        self.stored = stored_message


def mapping(value) -> dict:
    """``value`` if it is an object, else an empty one: optional sub-objects are read with ``.get``."""
    return value if isinstance(value, dict) else {}


def count(record: dict, name: str) -> int:
    """The token count ``record[name]``: missing or null is 0, a whole number (12, 12.0 or "12") its int
    value; anything else is an error naming the field, never taken as 0 (those tokens would go unbilled).
    Negative or too large counts are left for ``event_validate`` to refuse."""
    value = record.get(name)
    if value is None or value == "":
        return 0
    if isinstance(value, str):
        digits = value.strip().removeprefix("-")
        if digits.isascii() and digits.isdigit() and len(digits) <= 20:
            value = int(value)
    # A comparison, not abs(): abs() rounds a Decimal in the context and overflows on 9E+999999.
    elif isinstance(value, Decimal | float) and _finite(value) and -MAX_TOKENS <= value <= MAX_TOKENS:
        value = int(value) if value == int(value) else value
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ConnectorError(name, "must be a whole number of tokens")


def _finite(value: Decimal | float) -> bool:
    return value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)


def ident(value, name: str) -> str:
    """An id as text (a number written out), or an error naming the field."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        if value.bit_length() > 4 * MAX_ID:  # writing out thousands of digits is slow, or refused
            raise ConnectorError(name, f"is longer than {MAX_ID} characters")
        return str(value)
    raise ConnectorError(name, "must be a string or a number")


def label(value, limit: int) -> str:
    """Free text such as a deployment or channel name, cut to ``limit``; a number is written out, anything
    else is no name ("")."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() <= 4 * limit:
        return str(value)
    return value[:limit] if isinstance(value, str) else ""


def milliseconds(value, name: str) -> int:
    """Seconds of audio (a number, or its text) as whole milliseconds, half a millisecond rounded up: the
    canonical event stores audio in milliseconds and gateways report seconds to any precision. Anything
    but a finite number ≥ 0 is an error naming the field, never 0 (that audio would go unbilled)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise ConnectorError(name, "must be a number of seconds")
    if isinstance(value, int) and value.bit_length() > 64:  # no duration; and too long to write out
        raise ConnectorError(name, "must be a number of seconds, at least 0")
    try:
        seconds = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise ConnectorError(name, "must be a number of seconds") from None
    # A comparison, not abs() or quantize() first: both round in the context and overflow on 9E+999999.
    if not seconds.is_finite() or not 0 <= seconds <= MAX_TOKENS:
        raise ConnectorError(name, "must be a number of seconds, at least 0")
    return int(seconds.scaleb(3).quantize(Decimal(1), rounding=ROUND_HALF_UP))
