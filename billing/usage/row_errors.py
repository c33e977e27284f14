"""Upload errors as stored text (common.stored_text): what is wrong with a row or a whole file, by key.

The reasons of bad rows are fixed English templates spread over validation, the file readers and the
connectors (``events``, ``files``, ``connectors``); the API answers them in English, as written. An upload
keeps each of its row errors with the template's key and parameters too (``upload_errors``), found by
reading the reason back against the registered templates (``ROW_REASONS`` and the catalog's rating
refusals), so its page reads in the reader's language; a reason no template matches keeps its English."""

from django.utils.translation import gettext_noop

from common.stored_match import stored_match

ROW_REASONS = {
    "usage.row.required": gettext_noop("is required"),
    "usage.row.required_litellm_id": gettext_noop("is required (LiteLLM's request id)"),
    "usage.row.required_generation_id": gettext_noop("is required (the generation id)"),
    "usage.row.required_newapi_id": gettext_noop(
        "is required on an error row or an adjustment (the request_id keys the charge)"
    ),
    "usage.row.too_long": gettext_noop("is longer than %(limit)s characters"),
    "usage.row.string": gettext_noop("must be a string"),
    "usage.row.string_or_number": gettext_noop("must be a string or a number"),
    "usage.row.at_most_tokens": gettext_noop("must be at most %(limit)s tokens"),
    "usage.row.at_most_images": gettext_noop("must be at most %(limit)s images"),
    "usage.row.at_most_milliseconds": gettext_noop("must be at most %(limit)s milliseconds"),
    "usage.row.whole_tokens": gettext_noop("must be a whole number of tokens"),
    "usage.row.whole_images": gettext_noop("must be a whole number of images"),
    "usage.row.whole_milliseconds": gettext_noop("must be a whole number of milliseconds"),
    "usage.row.negative": gettext_noop("must not be negative"),
    "usage.row.adjustment_zero": gettext_noop("must be 0 on an adjustment (status adjustment)"),
    "usage.row.object": gettext_noop("each event must be a JSON object"),
    "usage.row.litellm_object": gettext_noop("each LiteLLM payload must be a JSON object"),
    "usage.row.log_object": gettext_noop("each log row must be an object"),
    "usage.row.future": gettext_noop("is more than a day in the future"),
    "usage.row.time_invalid": gettext_noop("is not a valid time"),
    "usage.row.time_required": gettext_noop("a time is required"),
    "usage.row.time_unix_range": gettext_noop("is not a time (Unix seconds out of range)"),
    "usage.row.time_iso": gettext_noop("is not an ISO 8601 time"),
    "usage.row.time_offset": gettext_noop("the time needs a UTC offset (e.g. 2026-05-01T10:00:00Z)"),
    "usage.row.offset_range": gettext_noop("has a UTC offset beyond ±15:59, which PostgreSQL cannot store"),
    "usage.row.offset_fraction": gettext_noop(
        "has a UTC offset with a fraction of a second, which PostgreSQL cannot store"
    ),
    "usage.row.offset_minutes": gettext_noop("has a UTC offset whose minutes are not 00–59"),
    "usage.row.offset_seconds": gettext_noop("has a UTC offset whose seconds are not 00–59"),
    "usage.row.before_2000": gettext_noop("is before 2000-01-01"),
    "usage.row.status": gettext_noop("must be success, failed or adjustment"),
    "usage.row.boolean": gettext_noop("must be true or false"),
    "usage.row.currency": gettext_noop("must be an ISO 4217 code such as USD"),
    "usage.row.json_object": gettext_noop("must be a JSON object"),
    "usage.row.decimal": gettext_noop("must be a decimal number"),
    "usage.row.non_negative_decimal": gettext_noop("must be a non-negative decimal number"),
    "usage.row.number": gettext_noop("must be a number"),
    "usage.row.quota_limit": gettext_noop("must be a number of at most %(limit)s units"),
    "usage.row.not_usage": gettext_noop("%(type)s is not usage (2 = consume, 5 = error, 6 = refund)"),
    "usage.row.nul": gettext_noop("must not contain the NUL character (\\u0000)"),
    "usage.row.not_unicode": gettext_noop(
        "is not valid UTF-8 text (it holds a lone surrogate, or bytes that are not UTF-8)"
    ),
    "usage.row.seconds": gettext_noop("must be a number of seconds"),
    "usage.row.seconds_non_negative": gettext_noop("must be a number of seconds, at least 0"),
    "usage.row.seconds_limit": gettext_noop("must be less than %(limit)s seconds"),
    "usage.row.seconds_places": gettext_noop("must have at most %(places)s decimal places (milliseconds)"),
    "usage.row.audio_disagree": gettext_noop(
        "says %(ms)s ms, audio_ms says %(audio_ms)s: send one of them, or both equal"
    ),
    "usage.row.not_utf8": gettext_noop("is not UTF-8 text"),
    # An NDJSON line that cannot be read: its line in the file or body (blank lines counted), and why.
    "usage.row.line": gettext_noop("line %(line)s: %(problem)s"),
    "usage.row.json_invalid": gettext_noop("is not valid JSON (%(problem)s at column %(column)s)"),
    "usage.row.json_invalid_said": gettext_noop("is not valid JSON (%(problem)s)"),
    "usage.row.json_invalid_bare": gettext_noop("is not valid JSON"),
    "usage.row.too_deep": gettext_noop("is nested too deeply to read"),
    "usage.row.number_too_large": gettext_noop("holds a number too long or too large to read"),
    "usage.row.stopped": gettext_noop(
        "reading stopped here: the file %(problem)s; nothing after this point was read"
    ),
    "usage.row.csv_row": gettext_noop("is not a readable CSV row (%(problem)s)"),
    "usage.row.list_of_strings": gettext_noop("must be a list of strings"),
    "usage.row.at_most_keys": gettext_noop("must hold at most %(limit)s keys"),
    "usage.row.csv_header": gettext_noop(
        "reading stopped here: the header row is not readable CSV (%(problem)s)"
    ),
}
# The templates read back: these and the catalog's rating refusals (``usage_check``'s). Only the
# parameters named in ``_NESTED`` are reasons in their own right; others are data.
_PREFIXES = ("usage.row.", "catalog.rating.")
_NESTED = frozenset({"problem"})


def row_reason_stored(reason: str) -> dict | None:
    """``reason`` (a bad row's, in English) as stored text, or None when no template reads it."""
    return stored_match(reason, _PREFIXES, _NESTED)


def upload_errors(errors: list[dict]) -> list[dict]:
    """An upload's row errors (``RowError.as_dict``) with each reason's stored text as ``message``."""
    return [{**e, "message": row_reason_stored(e.get("reason") or "")} for e in errors]
