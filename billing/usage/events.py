"""The canonical usage event and its validation: one dict in, an event or the row's errors out.

Pure functions over plain data, so the API, the upload task, the command and the bulk path all validate
alike and fast. Every error names the row's index, the field and the reason; the good rows of a batch are
kept whatever the bad ones contain.

A value passes only if PostgreSQL stores it as sent: text without NUL characters or lone surrogates, a
time whose UTC offset it accepts, counts and amounts that fit their columns. A bad value caught later,
by the database, would abort the whole batch's transaction (or a bulk chunk's COPY) instead of one row.
"""

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation

from catalog.rating import UNIT_FIELDS, USAGE_FIELDS, RatingError, Usage, usage_check

# "adjustment": a gateway's quota adjustment (new-api's "补扣/退还额度" and refunds): no tokens, a gateway
# cost that may be negative; stored not charged (``succeeded`` false, as a failed request is) with
# ``metadata["adjustment"] = true``, kept as gateway evidence.
ADJUSTMENT = "adjustment"
STATUSES = {"success", "failed", ADJUSTMENT}
# UsageEvent.service_tier's length.
MAX_SERVICE_TIER = 20
# audio_seconds is stored in milliseconds: more places than three would be a fraction of the unit stored.
AUDIO_PLACES = 3
MAX_ID = 200
MAX_UPSTREAM = 120
# Key candidates an event may name after its key (``key_fallbacks``): a LiteLLM proxy's key hash, alias,
# team and end user are four; more would be a connector's bug, not a lookup order.
MAX_KEY_FALLBACKS = 8
# Clocks drift; an event stamped further ahead than this is a gateway bug, not usage.
FUTURE_TOLERANCE = timedelta(days=1)
# No usage is that old; an earlier time is a gateway's placeholder (0, year 1), not a request.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
# PostgreSQL accepts UTC offsets up to ±15:59:59, in whole seconds (Python up to ±23:59:59.999999).
MAX_UTC_OFFSET = timedelta(hours=16)
# The UTC offset ending an ISO time (±HH, ±HH:MM, ±HHMM, with seconds and a fraction): Python reads minutes
# or seconds of 60 and more as a carry (+05:75 is +06:15), PostgreSQL refuses them.
_OFFSET_TEXT = re.compile(r"[+-][0-9]{2}(?::?([0-9]{2})(?::?([0-9]{2})(?:[.,][0-9]+)?)?)?\Z").search
# A thousand times the largest context window: far beyond any request, and small enough that a day's
# sums per customer and model stay within bigint and the rated amounts within numeric(40, 24).
MAX_TOKENS = 10**10
# gateway_cost is numeric(40, 24): below 10^16, and rounded to 24 places as PostgreSQL rounds (half away
# from zero), here, so that both ways of storing an event (insert and COPY) keep the same value.
COST_LIMIT = Decimal(10) ** 16
COST_STEP = Decimal("1e-24")
_COST_CONTEXT = Context(prec=41)  # 17 digits (10^16 once rounded) and 24 places
# orjson, which writes metadata on the bulk path, refuses deeper nesting; the per-batch path refuses it too.
MAX_METADATA_DEPTH = 254

NUL = "must not contain the NUL character (\\u0000)"
NOT_UNICODE = "is not valid UTF-8 text (it holds a lone surrogate, or bytes that are not UTF-8)"


@dataclass(slots=True)
class RowError:
    index: int
    field: str
    reason: str

    def as_dict(self) -> dict:
        return {"index": self.index, "field": self.field, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class UnreadableRecord:
    """A row a file reader could not turn into a record (not UTF-8, not JSON, a broken CSV row), kept in
    its place so that it is reported with its index and this reason, never dropped and never a crash."""

    reason: str


@dataclass(slots=True)
class CanonicalEvent:
    """One request as every connector reports it; see docs/usage.md for the JSON form."""

    index: int
    request_id: str
    occurred_at: datetime
    key: str
    model: str
    upstream_account: str = ""
    prompt_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    batch: bool = False
    succeeded: bool = True
    gateway_cost: Decimal | None = None
    gateway_cost_currency: str = ""
    metadata: dict = field(default_factory=dict)
    audio_prompt_tokens: int = 0
    audio_completion_tokens: int = 0
    images: int = 0
    audio_ms: int = 0
    service_tier: str = ""
    # The keys to try, in order, when ``key`` names no customer (``resolve.key_pick``); ``key`` excluded.
    key_fallbacks: tuple[str, ...] = ()

    @property
    def keys(self) -> tuple[str, ...]:
        """Every key candidate, in lookup order: ``key`` first, then its fallbacks."""
        return (self.key, *self.key_fallbacks)

    @property
    def units(self) -> tuple[int, int, int, int] | None:
        """The unit counts in ``UNIT_FIELDS`` (= ``UNIT_COLUMNS``) order, or None when all are zero (the
        form ``event_rate`` takes)."""
        units = (self.audio_prompt_tokens, self.audio_completion_tokens, self.images, self.audio_ms)
        return units if any(units) else None

    @property
    def counts(self) -> tuple[int, int, int, int, int, int]:
        """The six token counts, in ``USAGE_FIELDS`` (= ``TOKEN_COLUMNS``) order."""
        return (
            self.prompt_tokens,
            self.cache_read_tokens,
            self.cache_write_tokens,
            self.cache_write_1h_tokens,
            self.completion_tokens,
            self.reasoning_tokens,
        )


def text_problem(value: str) -> str | None:
    """Why PostgreSQL cannot store ``value`` as text (or json), or None when it can."""
    if "\x00" in value:
        return NUL
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:
            return NOT_UNICODE
    return None


# Unix seconds before year 10000, the last Python (and so this validation) can represent.
_UNIX_LIMIT = Decimal(253_402_300_800)


def _from_unix_seconds(value) -> datetime:
    """Return Unix seconds as an aware time, exact to the microsecond (no binary float rounding)."""
    if isinstance(value, int) and not 0 <= value < _UNIX_LIMIT:
        raise ValueError("is not a time (Unix seconds out of range)")  # before a huge int is written out
    seconds = value if isinstance(value, Decimal) else Decimal(str(value))
    if not seconds.is_finite() or not 0 <= seconds < _UNIX_LIMIT:
        raise ValueError("is not a time (Unix seconds out of range)")
    micros = int(seconds.scaleb(6).to_integral_value())
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)


def offset_text_problem(text: str) -> str | None:
    """Why the UTC offset written at the end of ISO time ``text`` is not one PostgreSQL reads, or None."""
    found = _OFFSET_TEXT(text)
    if found is None:
        return None
    minutes, seconds = found.groups()
    if minutes is not None and minutes > "59":
        return "has a UTC offset whose minutes are not 00–59"
    if seconds is not None and seconds > "59":
        return "has a UTC offset whose seconds are not 00–59"
    return None


def time_parse(value) -> datetime:
    """Parse ISO 8601 with an offset, or Unix seconds (int, Decimal or digits); raise ValueError saying
    what is wrong. The time returned is one PostgreSQL stores as is, from 2000 on."""
    if isinstance(value, bool):
        raise ValueError("a time is required")
    if isinstance(value, int | float | Decimal):
        parsed = _from_unix_seconds(value)
    elif not isinstance(value, str) or not value:
        raise ValueError("a time is required")
    elif value.isascii() and value.replace(".", "", 1).isdigit():
        parsed = _from_unix_seconds(value)
    elif len(value) > 64:  # no ISO time is this long; and the reason below would repeat it
        raise ValueError("is not an ISO 8601 time")
    else:
        parsed = datetime.fromisoformat(value.replace(" ", "T", 1) if "T" not in value else value)
        if parsed.tzinfo is not None and (problem := offset_text_problem(value)) is not None:
            raise ValueError(problem)
    offset = parsed.utcoffset()
    if offset is None:
        raise ValueError("the time needs a UTC offset (e.g. 2026-05-01T10:00:00Z)")
    if not -MAX_UTC_OFFSET < offset < MAX_UTC_OFFSET:
        raise ValueError("has a UTC offset beyond ±15:59, which PostgreSQL cannot store")
    if offset.microseconds:
        raise ValueError("has a UTC offset with a fraction of a second, which PostgreSQL cannot store")
    if parsed < EARLIEST:
        raise ValueError("is before 2000-01-01")
    return parsed


def _text(raw: dict, name: str, errors: list, index: int, *, required: bool, limit: int = MAX_ID) -> str:
    value = raw.get(name)
    if value is None or value == "":
        if required:
            errors.append(RowError(index, name, "is required"))
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        # Writing an int of thousands of digits is slow (or refused): such an id is too long anyway.
        if value.bit_length() > 4 * limit:
            errors.append(RowError(index, name, f"is longer than {limit} characters"))
            return ""
        value = str(value)
    if not isinstance(value, str):
        errors.append(RowError(index, name, "must be a string"))
        return ""
    value = value.strip()
    if not value and required:
        errors.append(RowError(index, name, "is required"))
    elif len(value) > limit:
        errors.append(RowError(index, name, f"is longer than {limit} characters"))
    elif (problem := text_problem(value)) is not None:
        errors.append(RowError(index, name, problem))
    return value


def key_fallbacks_parse(raw: dict, key: str, errors: list, index: int) -> tuple[str, ...]:
    """The key candidates ``raw`` names after ``key`` (``key_fallbacks``: a list of strings, each checked as
    ``key`` is), in order: blanks, repeats and ``key`` itself left out (they would match nothing new)."""
    value = raw.get("key_fallbacks")
    if value is None:
        return ()
    if not isinstance(value, list):
        errors.append(RowError(index, "key_fallbacks", "must be a list of strings"))
        return ()
    if len(value) > MAX_KEY_FALLBACKS:
        errors.append(RowError(index, "key_fallbacks", f"must hold at most {MAX_KEY_FALLBACKS} keys"))
        return ()
    found: list[str] = []
    for position, item in enumerate(value):
        if item is None or item == "":
            continue
        name = f"key_fallbacks[{position}]"
        problems: list[RowError] = []
        text = _text({name: item}, name, problems, index, required=False)
        errors.extend(problems)
        if not problems and text and text != key and text not in found:
            found.append(text)
    return tuple(found)


def _count(raw: dict, name: str, errors: list, index: int, unit: str = "tokens") -> int:
    value = raw.get(name, 0)
    if value is None:
        return 0
    if isinstance(value, str) and value.isascii() and value.isdigit():
        if len(value) > len(str(MAX_TOKENS)):
            errors.append(RowError(index, name, f"must be at most {MAX_TOKENS} {unit}"))
            return 0
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        errors.append(RowError(index, name, f"must be a whole number of {unit}"))
        return 0
    if value < 0:
        errors.append(RowError(index, name, "must not be negative"))
    elif value > MAX_TOKENS:
        errors.append(RowError(index, name, f"must be at most {MAX_TOKENS} {unit}"))
    return value


def _audio_seconds(value) -> int:
    """``audio_seconds`` (a number ≥ 0 with at most three decimals) in milliseconds; raise ValueError with
    the reason it is not one."""
    if isinstance(value, bool):
        raise ValueError("must be a number of seconds")
    try:
        seconds = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValueError("must be a number of seconds") from None
    if not seconds.is_finite():
        raise ValueError("must be a number of seconds")
    if seconds < 0:
        raise ValueError("must not be negative")
    if seconds >= Decimal(MAX_TOKENS).scaleb(-AUDIO_PLACES):
        raise ValueError(f"must be less than {MAX_TOKENS // 10**AUDIO_PLACES} seconds")
    if seconds.as_tuple().exponent < -AUDIO_PLACES and seconds != seconds.quantize(Decimal("0.001")):
        raise ValueError(f"must have at most {AUDIO_PLACES} decimal places (milliseconds)")
    return int(seconds.scaleb(AUDIO_PLACES))


def units_parse(raw: dict, errors: list, index: int) -> dict:
    """The unit counts of ``raw`` by ``UNIT_FIELDS`` name, errors appended to ``errors``: audio tokens and
    images as whole numbers, audio as ``audio_ms`` or ``audio_seconds`` (both only when they agree)."""
    units = {
        "audio_prompt_tokens": _count(raw, "audio_prompt_tokens", errors, index),
        "audio_completion_tokens": _count(raw, "audio_completion_tokens", errors, index),
        "images": _count(raw, "images", errors, index, "images"),
        "audio_ms": _count(raw, "audio_ms", errors, index, "milliseconds"),
    }
    seconds = raw.get("audio_seconds")
    if seconds is None or seconds == "":
        return units
    try:
        millis = _audio_seconds(seconds)
    except ValueError as exc:
        errors.append(RowError(index, "audio_seconds", str(exc)))
        return units
    if raw.get("audio_ms") not in (None, "") and units["audio_ms"] != millis:
        errors.append(
            RowError(
                index,
                "audio_seconds",
                f"says {millis} ms, audio_ms says {units['audio_ms']}: send one of them, or both equal",
            )
        )
    units["audio_ms"] = millis
    return units


def service_tier_parse(raw: dict, errors: list, index: int) -> str:
    """The service tier ``raw`` names (flex, priority…), lower-cased; blank when none."""
    return _text(raw, "service_tier", errors, index, required=False, limit=MAX_SERVICE_TIER).lower()


def adjustment_check(counts: dict, errors: list, index: int) -> None:
    """An adjustment carries no usage: every token and unit count must be 0 (the first other one is named)."""
    for name in (*USAGE_FIELDS, *UNIT_FIELDS):
        if counts.get(name):
            errors.append(RowError(index, name, "must be 0 on an adjustment (status adjustment)"))
            return


def cost_parse(value, *, negative: bool = False) -> Decimal:
    """The gateway's cost as stored (24 places); raise ValueError with the reason it cannot be. Only an
    adjustment's (``negative``) may be below zero: a refund of quota."""
    kind = "a decimal number" if negative else "a non-negative decimal number"
    try:
        cost = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValueError(f"must be {kind}") from None
    if not cost.is_finite() or (cost < 0 and not negative):
        raise ValueError(f"must be {kind}")
    if cost.copy_abs() < COST_LIMIT and cost.as_tuple().exponent < -24:
        # ROUND_HALF_UP rounds half away from zero, as PostgreSQL does, negative amounts too.
        cost = cost.quantize(COST_STEP, rounding=ROUND_HALF_UP, context=_COST_CONTEXT)
    if cost.copy_abs() >= COST_LIMIT:  # rounding may reach it
        raise ValueError("must be less than 10^16" if not negative else "must be within ±10^16")
    return cost


# Python writes out ints of at most 4,300 digits (sys.get_int_max_str_digits); JSON is written as text.
_MAX_INT_BITS = 14_000


class _Unstorable(ValueError):
    """Metadata PostgreSQL cannot store; the message is the reason."""


def _json_safe(value, depth: int = 1):
    """Return metadata ``value`` as it is stored, as the bulk path's encoder (orjson) writes it: Decimals
    (and anything else JSON has no type for) as their text, NaN and Infinity as null (JSON has no such
    numbers; JavaScript's JSON.stringify writes null too); raise ``_Unstorable`` for text PostgreSQL
    refuses or nesting deeper than MAX_METADATA_DEPTH.

    Loops rather than comprehensions: one frame per level, so the deepest metadata allowed stays far
    from Python's recursion limit.
    """
    if isinstance(value, str):
        if (problem := text_problem(value)) is not None:
            raise _Unstorable(problem)
        return value
    if value is None or type(value) is bool:
        return value
    if type(value) is int:
        if value.bit_length() > _MAX_INT_BITS:
            raise _Unstorable("holds a number too long to store")
        return value
    if isinstance(value, dict | list | tuple):
        if depth > MAX_METADATA_DEPTH:
            raise _Unstorable(f"is nested more than {MAX_METADATA_DEPTH} levels deep")
        if isinstance(value, dict):
            safe = {}
            for key, item in value.items():
                if isinstance(key, str) and (problem := text_problem(key)) is not None:
                    raise _Unstorable(problem)
                safe[key] = _json_safe(item, depth + 1)
            return safe
        items = []
        for item in value:
            items.append(_json_safe(item, depth + 1))
        return items
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    text = str(value)
    if (problem := text_problem(text)) is not None:
        raise _Unstorable(problem)
    return text


def event_validate(raw, index: int, *, now: datetime) -> CanonicalEvent | list[RowError]:
    """Return the canonical event in ``raw`` (a dict in the generic format), or the row's errors."""
    if isinstance(raw, UnreadableRecord):
        return [RowError(index, "non_field_errors", raw.reason)]
    if not isinstance(raw, dict):
        return [RowError(index, "non_field_errors", "each event must be a JSON object")]
    errors: list[RowError] = []
    request_id = _text(raw, "request_id", errors, index, required=True)
    key = _text(raw, "key", errors, index, required=True)
    key_fallbacks = key_fallbacks_parse(raw, key, errors, index)
    model = _text(raw, "model", errors, index, required=True)
    upstream = _text(raw, "upstream_account", errors, index, required=False, limit=MAX_UPSTREAM)
    occurred_at = None
    try:
        occurred_at = time_parse(raw.get("occurred_at"))
        if occurred_at > now + FUTURE_TOLERANCE:
            errors.append(RowError(index, "occurred_at", "is more than a day in the future"))
    except ValueError as exc:
        errors.append(RowError(index, "occurred_at", str(exc) or "is not a valid time"))
    counts = {name: _count(raw, name, errors, index) for name in USAGE_FIELDS}
    counts |= units_parse(raw, errors, index)
    service_tier = service_tier_parse(raw, errors, index)
    if not errors:
        try:
            usage_check(Usage(**counts))
        except RatingError as exc:
            errors.append(RowError(index, exc.field, exc.message))
    status = raw.get("status", "success") or "success"
    if not isinstance(status, str) or status not in STATUSES:
        errors.append(RowError(index, "status", "must be success, failed or adjustment"))
    adjustment = status == ADJUSTMENT
    if adjustment:
        adjustment_check(counts, errors, index)
    batch = raw.get("batch", False)
    if not isinstance(batch, bool):
        errors.append(RowError(index, "batch", "must be true or false"))
    cost = raw.get("gateway_cost")
    if cost is None or cost == "":
        cost = None
    else:
        try:
            cost = cost_parse(cost, negative=adjustment)
        except ValueError as exc:
            errors.append(RowError(index, "gateway_cost", str(exc)))
            cost = None
    currency = raw.get("gateway_cost_currency") or ""
    if currency and not (
        isinstance(currency, str)
        and len(currency) == 3
        and currency.isascii()
        and currency.isalpha()
        and currency.isupper()
    ):
        errors.append(RowError(index, "gateway_cost_currency", "must be an ISO 4217 code such as USD"))
    metadata = raw.get("metadata") or {}
    if not isinstance(metadata, dict):
        errors.append(RowError(index, "metadata", "must be a JSON object"))
    else:
        try:
            metadata = _json_safe(metadata)
        except _Unstorable as exc:
            errors.append(RowError(index, "metadata", str(exc)))
        if adjustment:
            metadata = {**metadata, "adjustment": True}
        if key_fallbacks:
            # Kept with the event: re-rating tries them again once a mapping names one (``rerate``).
            metadata = {**metadata, "key_fallbacks": list(key_fallbacks)}
    if errors:
        return errors
    return CanonicalEvent(
        index=index,
        request_id=request_id,
        occurred_at=occurred_at,
        key=key,
        key_fallbacks=key_fallbacks,
        model=model,
        upstream_account=upstream,
        batch=batch,
        succeeded=status == "success",
        gateway_cost=cost,
        gateway_cost_currency=currency if cost is not None else "",
        metadata=metadata,
        service_tier=service_tier,
        **counts,
    )
