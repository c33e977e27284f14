"""Read the fields we act on from a Stripe object (an event's ``data.object``), refusing what is not there.

A verified event is Stripe's word, but its object is still outside input: a field may be missing, null
or of another type (another API version, a payment made elsewhere). Reading through these functions
turns that into ``InvalidObject`` naming the field, so the event is parked for finance with that reason
instead of failing with a traceback. Nothing here touches the database.
"""

# Stripe's ids are about 30 characters. Ledger keys embed two of them under a 200-character limit, so a
# longer one is refused here rather than by the database.
MAX_ID_LENGTH = 80
# More minor units than any card payment (Stripe's own ceiling is 8 digits); keeps every amount inside
# the 20-digit money columns.
MAX_MINOR_UNITS = 10**12


class InvalidObject(Exception):
    """A field we act on is missing or not what Stripe documents; the message names the object and field."""


def _where(obj: dict) -> str:
    kind = obj.get("object") if isinstance(obj.get("object"), str) else "object"
    ident = obj.get("id") if isinstance(obj.get("id"), str) else "?"
    return f"{kind} {ident[:MAX_ID_LENGTH]}"


def _valid_id(value) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH and value.isprintable()


def stripe_id(obj: dict, field: str = "id") -> str:
    """Return the Stripe id in ``field`` (an expanded object counts by its id)."""
    value = obj.get(field)
    if isinstance(value, dict):
        value = value.get("id")
    if not _valid_id(value):
        raise InvalidObject(f"{_where(obj)}: {field} is missing or is not a Stripe id.")
    return value


def optional_stripe_id(obj: dict, field: str) -> str | None:
    """Return the Stripe id in ``field``, or None when the field is absent or null."""
    if obj.get(field) is None:
        return None
    return stripe_id(obj, field)


def minor_amount(obj: dict, field: str) -> int:
    """Return an amount in minor units (Stripe's integers); a float, a string or a negative is refused."""
    value = obj.get(field)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < MAX_MINOR_UNITS:
        raise InvalidObject(
            f"{_where(obj)}: {field} must be a whole number of minor units, not {str(value)[:40]!r}."
        )
    return value


def currency(obj: dict, field: str = "currency") -> str:
    """Return an ISO 4217 code, upper case (Stripe sends lower case)."""
    value = obj.get(field)
    if not (isinstance(value, str) and len(value) == 3 and value.isascii() and value.isalpha()):
        raise InvalidObject(f"{_where(obj)}: {field} must be a three-letter currency code.")
    return value.upper()


def metadata(obj: dict) -> dict[str, str]:
    """Return the object's metadata; Stripe keeps it as string keys and string values."""
    value = obj.get("metadata")
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise InvalidObject(f"{_where(obj)}: metadata must map strings to strings.")
    return value


def event_payment_intent(event_type: str, obj: dict) -> str:
    """Return the payment intent an event is about, or "" when it names none; never raises.

    Used to file the event (and to serialise the events of one payment), before any handler reads it.
    """
    value = obj.get("id") if event_type.startswith("payment_intent.") else obj.get("payment_intent")
    if isinstance(value, dict):
        value = value.get("id")
    return value if _valid_id(value) else ""
