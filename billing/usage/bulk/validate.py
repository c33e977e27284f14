"""Validation on the bulk path: the common, well-formed event checked fast (``fast_event``) and anything
else by ``events.event_validate``, a slice of records at a time, with repeats in the chunk (and the chunk
before) settled here."""

import re
from datetime import datetime
from decimal import Decimal
from itertools import islice

import orjson

from billing.money import copy_escape
from billing.usage.bulk.copytext import NULL, ORJSON_OPTIONS, event_head
from billing.usage.connectors.base import ConnectorError
from billing.usage.connectors.registry import connector_for
from billing.usage.events import (
    COST_LIMIT,
    EARLIEST,
    FUTURE_TOLERANCE,
    MAX_ID,
    MAX_KEY_FALLBACKS,
    MAX_SERVICE_TIER,
    MAX_TOKENS,
    MAX_UPSTREAM,
    MAX_UTC_OFFSET,
    event_validate,
    offset_text_problem,
)

# An occurred_at already written as an offset (or Z) ISO time, to the microsecond at most, is sent to COPY as
# it came: PostgreSQL reads it as the same instant Python parsed, and formatting it again (isoformat) cost
# a fifth of checking a well-formed event. Any other form Python accepts is sent as isoformat() writes it.
_PLAIN_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?(?:[+-][0-9]{2}:[0-9]{2}|Z)"
).fullmatch


def fast_event(raw, horizon: datetime, source_id: int) -> tuple | None:
    """The common, well-formed generic event as a compact tuple, or None to let ``event_validate`` decide.

    Accepts only what ``event_validate`` accepts unchanged (plain types, nothing to coerce), so the two
    agree on every row this takes; anything else (errors, coercions, odd types, text beyond ASCII, metadata
    holding an escaped NUL, ``audio_seconds``, an adjustment) goes the slow way. Nothing this takes can
    fail in COPY.
    Tuple: (request_id, occurred_at, key candidates (``CanonicalEvent.keys``), model, counts, batch,
    succeeded, head, upstream account, occurred_at as COPY text, unit counts (None: all zero), service tier).
    """
    if type(raw) is not dict:
        return None
    get = raw.get
    request_id, key, model, upstream = get("request_id"), get("key"), get("model"), get("upstream_account")
    if type(request_id) is not str or type(key) is not str or type(model) is not str:
        return None
    request_id, key, model = request_id.strip(), key.strip(), model.strip()
    if not (0 < len(request_id) <= MAX_ID and 0 < len(key) <= MAX_ID and 0 < len(model) <= MAX_ID):
        return None
    # ASCII without NUL is text PostgreSQL takes as is (isascii reads a flag: no scan).
    if not (request_id.isascii() and key.isascii() and model.isascii()) or (
        "\x00" in request_id or "\x00" in key or "\x00" in model
    ):
        return None
    keys = _keys(key, get("key_fallbacks"))
    if keys is None:
        return None
    if upstream is None:
        upstream = ""
    elif type(upstream) is str:
        upstream = upstream.strip()
        if len(upstream) > MAX_UPSTREAM or not upstream.isascii() or "\x00" in upstream:
            return None
    else:
        return None
    at_text = get("occurred_at")
    if type(at_text) is not str or "T" not in at_text:
        return None
    try:
        at = datetime.fromisoformat(at_text)
    except ValueError:
        return None
    if at.tzinfo is None or at > horizon or at < EARLIEST:
        return None
    if _PLAIN_TIME(at_text):
        # Its offset is the text's last six characters (±HH:MM) or Z: PostgreSQL takes hours up to 15 and
        # minutes up to 59 (Python reads +05:75 as +06:15; COPY would refuse it, and the whole chunk).
        if at_text[-1] != "Z" and (at_text[-5:-3] > "15" or at_text[-2] > "5"):
            return None
    else:
        offset = at.utcoffset()
        if not -MAX_UTC_OFFSET < offset < MAX_UTC_OFFSET or offset.microseconds:
            return None
        if offset_text_problem(at_text) is not None:
            return None
        at_text = at.isoformat()
    prompt, cache_read, cache_write, cache_write_1h, completion, reasoning = counts = (
        get("prompt_tokens", 0),
        get("cache_read_tokens", 0),
        get("cache_write_tokens", 0),
        get("cache_write_1h_tokens", 0),
        get("completion_tokens", 0),
        get("reasoning_tokens", 0),
    )
    if (
        type(prompt) is not int
        or type(cache_read) is not int
        or type(cache_write) is not int
        or type(cache_write_1h) is not int
        or type(completion) is not int
        or type(reasoning) is not int
        or cache_read < 0
        or cache_write < 0
        or cache_write_1h < 0
        or reasoning < 0
        or cache_read + cache_write + cache_write_1h > prompt
        or reasoning > completion
        or prompt > MAX_TOKENS
        or completion > MAX_TOKENS
    ):
        return None
    status = get("status")
    if not status or status == "success":
        succeeded = True
    elif status == "failed":
        succeeded = False
    else:
        return None
    batch = get("batch", False)
    if batch is not True and batch is not False:
        return None
    cost = get("gateway_cost")
    if cost is None or cost == "":
        cost_text = NULL
    elif type(cost) is int and 0 <= cost < COST_LIMIT:
        cost_text = str(cost)
    elif type(cost) is Decimal and cost.is_finite() and 0 <= cost < COST_LIMIT:
        # More than 24 places are rounded, the slow way. Counted on the text (written anyway) unless it
        # has an exponent: as_tuple costs as much as the rest of this check.
        cost_text = str(cost)
        if "E" in cost_text:
            if cost.as_tuple().exponent < -24:
                return None
        elif "." in cost_text and len(cost_text) - cost_text.index(".") > 25:
            return None
    else:
        return None
    currency = get("gateway_cost_currency") or ""
    if currency and not (
        type(currency) is str and len(currency) == 3 and currency.isascii() and currency.isalpha()
        and currency.isupper()
    ):  # fmt: skip
        return None
    metadata = get("metadata") or {}
    if type(metadata) is not dict:
        return None
    if len(keys) > 1:  # stored with the event, as event_validate stores them
        metadata = {**metadata, "key_fallbacks": list(keys[1:])}
    if metadata:
        try:
            metadata_text = orjson.dumps(metadata, default=str, option=ORJSON_OPTIONS).decode()
        except (TypeError, orjson.JSONEncodeError):  # a lone surrogate, nesting too deep, an int too large
            return None
        if "\\u0000" in metadata_text:  # an escaped NUL, refused the slow way (a C-speed scan of the text)
            return None
    else:
        metadata_text = "{}"
    units, tier, extras_text = None, "", _NO_EXTRAS
    # Image and audio counts and a service tier are rare: one look for each, none of them there, is all
    # most events cost.
    if not (
        get("audio_prompt_tokens") is None
        and get("audio_completion_tokens") is None
        and get("images") is None
        and get("audio_ms") is None
        and get("audio_seconds") is None
        and get("service_tier") is None
    ):
        extras = _extras(get, prompt - cache_read - cache_write - cache_write_1h, completion - reasoning)
        if extras is None:
            return None
        units, tier, extras_text = extras
    head = (
        f"{source_id}\t{copy_escape(request_id)}\t{at_text}\t{copy_escape(model)}\t"
        f"{copy_escape(upstream)}\t"
        f"{prompt}\t{cache_read}\t{cache_write}\t{cache_write_1h}\t{completion}\t{reasoning}\t"
        f"{'t' if batch else 'f'}\t{'t' if succeeded else 'f'}\t{cost_text}\t"
        f"{copy_escape(currency) if cost_text != NULL else ''}\t{copy_escape(metadata_text)}\t{extras_text}"
    )
    return (request_id, at, keys, model, counts, batch, succeeded, head, upstream, at_text, units, tier)


def _keys(key: str, fallbacks) -> tuple[str, ...] | None:
    """``key`` and its plain fallbacks (ASCII text without NUL, as ``key``), repeats left out as
    ``events.key_fallbacks_parse`` leaves them; None to let ``event_validate`` decide anything else."""
    if not fallbacks:
        return (key,) if fallbacks is None or fallbacks == [] else None
    if type(fallbacks) is not list or len(fallbacks) > MAX_KEY_FALLBACKS:
        return None
    keys = [key]
    for item in fallbacks:
        if type(item) is not str:
            return None
        item = item.strip()
        if not 0 < len(item) <= MAX_ID or not item.isascii() or "\x00" in item:
            return None
        if item not in keys:
            keys.append(item)
    return tuple(keys)


# The unit counts (UNIT_COLUMNS) and service tier of an event that has none, as COPY text (HEAD_COLUMNS).
_NO_EXTRAS = "0\t0\t0\t0\t\t"


def _extras(get, uncached: int, output: int) -> tuple | None:
    """(unit counts or None, service tier, their COPY text) of an event that names any of them, or None to
    let ``event_validate`` decide: whole numbers within limits that fit in the prompt's uncached part and the
    completion's non-reasoning part, a tier of plain ASCII text, and no ``audio_seconds`` (a decimal)."""
    if get("audio_seconds") is not None:
        return None
    units = []
    for name in ("audio_prompt_tokens", "audio_completion_tokens", "images", "audio_ms"):
        value = get(name)
        if value is None:
            value = 0
        elif type(value) is not int or not 0 <= value <= MAX_TOKENS:
            return None
        units.append(value)
    if units[0] > uncached or units[1] > output:
        return None
    tier = get("service_tier")
    if tier is None:
        tier = ""
    elif type(tier) is str:
        tier = tier.strip()
        if len(tier) > MAX_SERVICE_TIER or not tier.isascii() or "\x00" in tier:
            return None
        tier = tier.lower()
    else:
        return None
    text = f"{units[0]}\t{units[1]}\t{units[2]}\t{units[3]}\t{copy_escape(tier)}\t"
    return (tuple(units) if any(units) else None), tier, text


def slice_parse(
    records,
    *,
    size: int,
    fmt: str,
    source,
    now: datetime,
    offset: int,
    seen: set,
    earlier: set,
    errors: list,
):
    """Validate up to ``size`` records; return (events as tuples, rows read). First occurrence wins:
    a request id already ``seen`` in this chunk, or in the ``earlier`` chunk, is a repeat (None)."""
    to_canonical = None if fmt == "generic" else connector_for(fmt)
    horizon = now + FUTURE_TOLERANCE
    source_id = source.pk
    events = []
    read = 0
    for index, record in enumerate(islice(records, size), start=offset):
        read += 1
        raw = record
        if to_canonical is not None:
            try:
                raw = to_canonical(record, source=source)
            except ConnectorError as exc:
                errors.append((index, exc.field, exc.reason))
                continue
        row = fast_event(raw, horizon, source_id)
        if row is None:
            result = event_validate(raw, index, now=now)
            if isinstance(result, list):
                errors.extend((e.index, e.field, e.reason) for e in result)
                continue
            e = result
            row = (
                e.request_id,
                e.occurred_at,
                e.keys,
                e.model,
                e.counts,
                e.batch,
                e.succeeded,
                event_head(e, source_id),
                e.upstream_account,
                e.occurred_at.isoformat(),
                e.units,
                e.service_tier,
            )
        seen_before = len(seen)
        seen.add(row[0])
        if len(seen) != seen_before and row[0] not in earlier:
            events.append(row)
        else:
            events.append(None)  # a repeat (in this chunk or the previous one): counted as valid, stored once
    return events, read
