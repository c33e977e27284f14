"""new-api / one-api logs: rows of its ``logs`` table or its CSV export.

Columns read (new-api ``model/log.go``, ``Log``): ``id``, ``created_at`` (Unix seconds), ``type`` (2 =
consume, 5 = error, 6 = refund; top-ups and management rows are not usage), ``content``, ``username``,
``token_name``, ``model_name``, ``quota``, ``prompt_tokens``, ``completion_tokens``, ``channel``/
``channel_id`` (the upstream channel), ``is_stream``, ``request_id`` when present, and ``other`` (JSON text).

A row's key (its request key, unique per gateway source: ``usage_request_key``) follows what the row is.
A plain consume row (type 2, not an adjustment) with a ``request_id`` (newer new-api) is keyed by it, as it
always was: rows ingested before keep their keys, so an overlapping export is duplicates, not charges.
Every other row is keyed ``log-<id>``, its id in the ``logs`` table, which new-api's database numbers
uniquely (id 0 is an id like any other): error rows (type 5), adjustments (task settlements, type 6
refunds) and rows without a ``request_id``. new-api writes the request's id on the consume row *and* on the
error rows of the channels it retried (``RecordErrorLog`` and ``RecordConsumeLog`` both take
``common.RequestIdKey`` from the request), and a task's settlements and refunds may carry it too: keyed by
it, a failed attempt would take the charge for its duplicate. A request has one consume row, so the charge
alone holds the request id as key, and its failed attempts and adjustments never collide with it. An error
row or an adjustment without an id is refused (``id``: it has no key of its own). Every row's
``request_id`` is kept as ``metadata.gateway_request_id``, which ties a charge to its failed attempts.
``log-<id>`` keys are per source, so the source stands for the new-api instance: one source per instance
(two instances both have a row 17).

Only the admin's export has real ids: the admin log API (``GET /api/log/``, ``controller.GetAllLogs``) or
the ``logs`` table itself. The user log API (``GET /api/log/self``, ``controller.GetUserLogs``; and
``/api/log/token``, ``GetLogByKey``) passes its rows through ``model.formatUserLogs``, which blanks
``channel_name`` and sets ``Id = Id % 1024`` (newer releases: the row's position on the page), and whose
answer (``controller.buildUserLogDTOs``, ``userLogDTO``) has no user, channel or token columns. Its rows
cannot be told apart by id, and a repeated key is a duplicate: rows would be silently lost. So
``user_log_export_check`` refuses such an export whole (see there).

``other`` as new-api's ``service/log_info_generate.go`` and ``service/text_quota.go`` write it:

- ``cache_tokens``: cache reads. ``cache_creation_tokens``: cache writes, of which
  ``cache_creation_tokens_1h`` are 1-hour writes (``cache_creation_tokens_5m`` the 5-minute ones; each
  written only when not 0, and writes neither names are 5-minute writes, as new-api prices them);
- ``claude: true`` or ``usage_semantic: "anthropic"`` (``GenerateClaudeOtherInfo``): the row's
  ``prompt_tokens`` is Anthropic's ``input_tokens``, the cache reads and writes *beside* it, however small.
  Otherwise new-api's prompt counts them (OpenAI's usage) unless they do not fit in it;
- ``audio_input``/``audio_output`` (``GenerateAudioOtherInfo``, ``GenerateWssOtherInfo``) and
  ``audio_input_token_count`` (Gemini's separately priced audio input): audio tokens, counted in the prompt
  and completion;
- ``is_model_mapped``/``upstream_model_name``: the model a channel's model mapping sent upstream.

An image generation row says how many images in its ``content`` (``生成数量 N``, new-api's
``relay/image_handler.go``, ``ImageHelper``).

Asynchronous tasks (video, music, images) are charged ahead and settled when they finish; the settlement
is a log row of its own without tokens: ``type`` 2 with the quota difference (negative when quota went
back: ``model.RecordReConsumeLog``, ``other.quota_delta``; or ``service.RecalculateTaskQuota`` with
``other.pre_consumed_quota`` when more was charged) and ``type`` 6 refunds (``RecalculateTaskQuota`` and
``RefundTaskQuota``, the quota given back, positive). These are the gateway's quota adjustments: events
with ``status: "adjustment"``, no tokens, and the signed quota as gateway cost (a refund negative), kept
as evidence and charged nothing.

``quota`` becomes the gateway cost: quota ÷ the source's ``quota_per_unit`` (500000 per USD by default),
in the source's cost currency. The customer key is ``token_name`` (else ``username``).

``other.upstream_model_name`` is kept as ``metadata.response_model``, the one key the 货不对版 signal
(``billing.upstream.mismatch``) reads whatever the gateway. new-api logs no model from the upstream's
response body, so a channel that answers with another model than it was sent is not seen here.
"""

import json
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation, localcontext
from itertools import chain

from billing.usage.connectors.base import ConnectorError, RecordsRefused, count, ident, label, mapping
from billing.usage.events import MAX_UPSTREAM
from common.stored_text import stored

CONSUME, ERROR, REFUND = 2, 5, 6
DEFAULT_QUOTA_PER_UNIT = Decimal(500000)
# A reported model name longer than this is no model's (event model names have the same limit).
MAX_MODEL = 200
# A quota beyond this is no log's (a year of the largest deployment's traffic is far less); refused before
# dividing, where a huge exponent would overflow the decimal context.
MAX_QUOTA = Decimal(10) ** 30
# What an adjustment keeps of the row's content (new-api writes a sentence or two there).
MAX_CONTENT = 200
# The keys new-api writes in ``other`` when it settles an asynchronous task's quota.
TASK_SETTLEMENT_KEYS = ("quota_delta", "pre_consumed", "pre_consumed_quota")
# ``ImageHelper`` writes the number of images into the content: "大小 1024x1024, 品质 standard, 生成数量 2".
IMAGES_IN_CONTENT = re.compile(r"生成数量 ([0-9]{1,10})(?![0-9])")
# ``model.formatUserLogs``: the user log API answers ``Id % 1024``.
USER_LOG_MODULO = 1024
# The user log API's rows (``userLogDTO``) carry ``channel_name`` and none of the admin's columns below
# (the ``logs`` table has all but ``channel_name``, which is a join; the admin log API all of them).
ADMIN_COLUMNS = ("user_id", "username", "channel", "channel_id", "token_id")
# What a row is told from another row by, for two rows of the same id (scalars only: ``other`` may nest).
ROW_FIELDS = ("created_at", "type", "model_name", "token_name", "quota", "prompt_tokens", "completion_tokens")
# Rows read ahead at most before an export is let through undecided: 1,025 distinct rows with ids under
# 1,024 must repeat one, so a user log export is caught far sooner; this bounds memory on a file that
# repeats the same rows (duplicates, not collisions) and never decides.
LOOKAHEAD = 10_000


def _row_id(record) -> int | None:
    """The row's id as a number (JSON's number or a CSV cell's digits), or None if it has none."""
    value = record.get("id") if isinstance(record, dict) else None
    if isinstance(value, str) and value.isascii() and value.strip().isdigit() and len(value) <= 20:
        return int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _fingerprint(record: dict) -> tuple:
    return tuple(
        str(value) if isinstance(value := record.get(name), str | int | float | Decimal | None) else "?"
        for name in ROW_FIELDS
    )


def user_log_export_check(records: Iterable) -> Iterator:
    """``records`` (a batch or a file's stream), all of them in order, once they are known not to be an
    export of new-api's user log API; raise ``RecordsRefused`` if they are, before any is ingested.

    Read ahead (at most ``LOOKAHEAD`` rows, held in memory) until the rows decide:

    - a row shaped like the user log API's (``channel_name`` without any of ``ADMIN_COLUMNS``): refused;
    - two different rows (``ROW_FIELDS``) with the same id, while no id has reached 1,024: the ids are
      ``Id % 1024``, refused;
    - an id of 1,024 or more: the ids are real (the modulo never gives one), let through.

    An export that ends undecided (ids under 1,024, none repeated: a young instance) is let through. A
    refusal is of the whole batch or file, not of the colliding rows: every id in such an export is
    wrong, including those that happen not to repeat in it (they repeat in the next one), so keeping any
    row would store it under a key another row will take later, and that row would be lost.
    """
    iterator = iter(records)
    ahead: list = []
    seen: dict[int, tuple[tuple, int]] = {}
    for index, record in enumerate(iterator):
        ahead.append(record)
        if _user_log_shaped(record):
            raise RecordsRefused(stored("usage.newapi.user_log_columns", index=index))
        row_id = _row_id(record)
        if row_id is not None and row_id >= USER_LOG_MODULO:
            break
        if row_id is not None:
            fingerprint = _fingerprint(record)
            first_fingerprint, first = seen.setdefault(row_id, (fingerprint, index))
            if first_fingerprint != fingerprint:
                refusal = stored("usage.newapi.user_log_ids", id=row_id, first=first, second=index)
                raise RecordsRefused(refusal)
        if len(ahead) >= LOOKAHEAD:
            break
    return chain(ahead, iterator)


def _user_log_shaped(record) -> bool:
    if not isinstance(record, dict) or "channel_name" not in record:
        return False
    return not any(column in record for column in ADMIN_COLUMNS)


def _other(value) -> dict:
    """The ``other`` column: JSON text (or an object) holding cache counts; unreadable means none."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else {}
        except (ValueError, RecursionError):
            return {}
    return mapping(value)


def _quota(value) -> Decimal:
    try:
        quota = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ConnectorError("quota", "must be a number") from None
    if not quota.is_finite() or abs(quota) > MAX_QUOTA:
        raise ConnectorError("quota", f"must be a number of at most {MAX_QUOTA:.0e} units")
    return quota


def _kind(record: dict) -> int:
    try:
        kind = count(record, "type") if "type" in record else CONSUME
    except ConnectorError:
        kind = None
    if kind not in (CONSUME, ERROR, REFUND):
        named = f"log type {kind}" if kind is not None and abs(kind) < 1000 else "this log type"
        raise ConnectorError("type", f"{named} is not usage (2 = consume, 5 = error, 6 = refund)")
    return kind


def _is_adjustment(kind: int, record: dict, other: dict, quota: Decimal | None) -> bool:
    """A refund, or a consume row without tokens that settles a task (or gives quota back)."""
    if kind == REFUND:
        return True
    if kind != CONSUME or count(record, "prompt_tokens") or count(record, "completion_tokens"):
        return False
    return (quota is not None and quota < 0) or any(name in other for name in TASK_SETTLEMENT_KEYS)


def _cache(other: dict) -> tuple[int, int, int]:
    """Cache (reads, 5-minute writes, 1-hour writes) as ``GenerateClaudeOtherInfo`` logs them."""
    one_hour = count(other, "cache_creation_tokens_1h")
    # new-api's cacheWriteTokensTotal: the split counts, unless the total says more.
    writes = max(count(other, "cache_creation_tokens"), count(other, "cache_creation_tokens_5m") + one_hour)
    return count(other, "cache_tokens"), writes - one_hour, one_hour


def _images(content) -> int:
    found = IMAGES_IN_CONTENT.search(content) if isinstance(content, str) else None
    return int(found.group(1)) if found else 0


def _adjustment_metadata(record: dict, other: dict, kind: int) -> dict:
    metadata = {"log_type": kind, "content": label(record.get("content"), MAX_CONTENT)}
    task = label(other.get("task_id"), MAX_MODEL)
    if task:
        metadata["task_id"] = task
    return metadata


def _row_key(row_id, request_id, *, charge: bool) -> str:
    """A charge's ``request_id`` (the key rows had before ``log-<id>`` keys: stored rows keep matching), else
    ``log-<id>``; see the module's docstring. ``row_id`` is None when the row has none."""
    if request_id and charge:
        return ident(request_id, "request_id")
    if row_id is None:
        raise ConnectorError(
            "id", "is required on an error row or an adjustment (the request_id keys the charge)"
        )
    return f"log-{ident(row_id, 'id')}"


def to_canonical(record, *, source=None) -> dict:
    if not isinstance(record, dict):
        raise ConnectorError("non_field_errors", "each log row must be an object")
    kind = _kind(record)
    row_id, request_id = record.get("id"), record.get("request_id")
    has_id = row_id is not None and row_id != ""  # 0 is an id
    if not has_id and not request_id:
        raise ConnectorError("id", "is required")
    other = _other(record.get("other"))
    quota = record.get("quota")
    quota = _quota(quota) if quota not in (None, "") else None
    adjustment = _is_adjustment(kind, record, other, quota)
    cost = None
    if quota is not None:
        per_unit = (source.quota_per_unit if source is not None else None) or DEFAULT_QUOTA_PER_UNIT
        with localcontext() as ctx:
            ctx.prec = 40
            # A refund row logs the quota given back as a positive number: to the gateway, a negative cost.
            cost = (-quota if kind == REFUND else quota) / per_unit
    channel = record.get("channel") or record.get("channel_id") or record.get("channel_name") or ""
    channel = label(channel, MAX_UPSTREAM - len("channel:"))
    metadata = {
        "connector": "newapi",
        "quota": str(quota) if quota is not None else "",
        "user": record.get("username") or "",
    }
    if request_id:
        metadata["gateway_request_id"] = ident(request_id, "request_id")
    reported = label(other.get("upstream_model_name"), MAX_MODEL).strip()
    if reported:
        metadata["response_model"] = reported
    event = {
        "request_id": _row_key(
            row_id if has_id else None, request_id, charge=kind == CONSUME and not adjustment
        ),
        "occurred_at": record.get("created_at"),
        "key": record.get("token_name") or record.get("username"),
        # An unmapped token name falls back to its user's mapping (``registry.KEY_LOOKUP``).
        "key_fallbacks": [user]
        if record.get("token_name") and isinstance(user := record.get("username"), str)
        else [],
        "model": record.get("model_name"),
        "upstream_account": f"channel:{channel}" if channel != "" else "",
        "gateway_cost": cost,
        "gateway_cost_currency": (source.cost_currency if source is not None else "USD")
        if cost is not None
        else "",
        "metadata": metadata,
    }
    if adjustment:
        metadata |= _adjustment_metadata(record, other, kind)
        return {**event, "status": "adjustment"}
    cache_read, cache_write, cache_write_1h = _cache(other)
    prompt = count(record, "prompt_tokens")
    cached = cache_read + cache_write + cache_write_1h
    if other.get("claude") is True or other.get("usage_semantic") == "anthropic" or cached > prompt:
        prompt += cached
    return {
        **event,
        "prompt_tokens": prompt,
        "cache_read_tokens": cache_read,
        "cache_write_tokens": cache_write,
        "cache_write_1h_tokens": cache_write_1h,
        "completion_tokens": count(record, "completion_tokens"),
        "audio_prompt_tokens": count(other, "audio_input") or count(other, "audio_input_token_count"),
        "audio_completion_tokens": count(other, "audio_output"),
        "images": _images(record.get("content")) if kind == CONSUME else 0,
        "status": "failed" if kind == ERROR else "success",
    }
