"""The canonical usage event and its validation: one dict in, an event or the row's errors out.

Pure functions over plain data, so the API, the upload task, the command and the bulk path all validate
alike and fast. Every error names the row's index, the field and the reason; the good rows of a batch are
kept whatever the bad ones contain.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from catalog.rating import RatingError, Usage, usage_check

TOKEN_FIELDS = (
    "prompt_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "completion_tokens",
    "reasoning_tokens",
)
STATUSES = {"success", "failed"}
MAX_ID = 200
# Clocks drift; an event stamped further ahead than this is a gateway bug, not usage.
FUTURE_TOLERANCE = timedelta(days=1)


@dataclass(slots=True)
class RowError:
    index: int
    field: str
    reason: str

    def as_dict(self) -> dict:
        return {"index": self.index, "field": self.field, "reason": self.reason}


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

    def usage(self) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens,
            cache_read_tokens=self.cache_read_tokens,
            cache_write_tokens=self.cache_write_tokens,
            cache_write_1h_tokens=self.cache_write_1h_tokens,
            completion_tokens=self.completion_tokens,
            reasoning_tokens=self.reasoning_tokens,
            batch=self.batch,
            at=self.occurred_at,
        )


def _from_unix_seconds(value) -> datetime:
    """Return Unix seconds as an aware time, exact to the microsecond (no binary float rounding)."""
    micros = int(Decimal(str(value)).scaleb(6).to_integral_value())
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)


def time_parse(value) -> datetime:
    """Parse ISO 8601 with an offset, or Unix seconds (int, float or digits); raise ValueError."""
    if isinstance(value, bool):
        raise ValueError("a time is required")
    if isinstance(value, int | float | Decimal):
        return _from_unix_seconds(value)
    if not isinstance(value, str) or not value:
        raise ValueError("a time is required")
    if value.replace(".", "", 1).isdigit():
        return _from_unix_seconds(value)
    parsed = datetime.fromisoformat(value.replace(" ", "T", 1) if "T" not in value else value)
    if parsed.tzinfo is None:
        raise ValueError("the time needs a UTC offset (e.g. 2026-05-01T10:00:00Z)")
    return parsed


def _text(raw: dict, name: str, errors: list, index: int, *, required: bool, limit: int = MAX_ID) -> str:
    value = raw.get(name)
    if value is None or value == "":
        if required:
            errors.append(RowError(index, name, "is required"))
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        errors.append(RowError(index, name, "must be a string"))
        return ""
    value = value.strip()
    if len(value) > limit:
        errors.append(RowError(index, name, f"is longer than {limit} characters"))
    return value


def _json_safe(value):
    """Return ``value`` with its Decimals as strings, keeping their exact digits.

    Bodies are parsed with ``parse_float=Decimal`` so amounts stay exact; free-form metadata is stored
    as JSON, which has no Decimal, and the bulk path writes the same strings.
    """
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_safe(item) for item in value]
    return value


def event_validate(raw, index: int, *, now: datetime) -> CanonicalEvent | list[RowError]:
    """Return the canonical event in ``raw`` (a dict in the generic format), or the row's errors."""
    if not isinstance(raw, dict):
        return [RowError(index, "non_field_errors", "each event must be a JSON object")]
    errors: list[RowError] = []
    request_id = _text(raw, "request_id", errors, index, required=True)
    key = _text(raw, "key", errors, index, required=True)
    model = _text(raw, "model", errors, index, required=True)
    upstream = _text(raw, "upstream_account", errors, index, required=False, limit=120)
    occurred_at = None
    try:
        occurred_at = time_parse(raw.get("occurred_at"))
        if occurred_at > now + FUTURE_TOLERANCE:
            errors.append(RowError(index, "occurred_at", "is more than a day in the future"))
    except (ValueError, OverflowError, OSError) as exc:
        errors.append(RowError(index, "occurred_at", str(exc) or "is not a valid time"))
    counts = {}
    for name in TOKEN_FIELDS:
        value = raw.get(name, 0)
        if value is None:
            value = 0
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            errors.append(RowError(index, name, "must be a whole number of tokens"))
            value = 0
        elif value < 0:
            errors.append(RowError(index, name, "must not be negative"))
        counts[name] = value
    if not errors:
        try:
            usage_check(Usage(**counts))
        except RatingError as exc:
            errors.append(RowError(index, exc.field, exc.message))
    status = raw.get("status", "success") or "success"
    if not isinstance(status, str) or status not in STATUSES:
        errors.append(RowError(index, "status", "must be success or failed"))
    batch = raw.get("batch", False)
    if not isinstance(batch, bool):
        errors.append(RowError(index, "batch", "must be true or false"))
    cost = raw.get("gateway_cost")
    if cost is not None and cost != "":
        try:
            cost = Decimal(str(cost)) if not isinstance(cost, Decimal) else cost
            if not cost.is_finite() or cost < 0:
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            errors.append(RowError(index, "gateway_cost", "must be a non-negative decimal number"))
            cost = None
    else:
        cost = None
    currency = raw.get("gateway_cost_currency") or ""
    if currency and (not isinstance(currency, str) or len(currency) != 3 or not currency.isupper()):
        errors.append(RowError(index, "gateway_cost_currency", "must be an ISO 4217 code such as USD"))
    metadata = raw.get("metadata") or {}
    if not isinstance(metadata, dict):
        errors.append(RowError(index, "metadata", "must be a JSON object"))
    else:
        metadata = _json_safe(metadata)
    if errors:
        return errors
    return CanonicalEvent(
        index=index,
        request_id=request_id,
        occurred_at=occurred_at,
        key=key,
        model=model,
        upstream_account=upstream,
        batch=batch,
        succeeded=status == "success",
        gateway_cost=cost,
        gateway_cost_currency=currency if cost is not None else "",
        metadata=metadata,
        **counts,
    )
