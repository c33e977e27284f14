"""Validation is total and complete: whatever JSON a gateway sends, the connectors and ``event_validate``
answer an event or row errors (never an exception), every event they accept is one PostgreSQL stores as
sent, and the bulk path's fast check accepts only what ``event_validate`` accepts, unchanged."""

import json
from datetime import timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from billing.usage.bulk.validate import fast_event
from billing.usage.connectors.base import ConnectorError
from billing.usage.connectors.registry import connector_for
from billing.usage.events import (
    EARLIEST,
    FUTURE_TOLERANCE,
    MAX_ID,
    MAX_KEY_FALLBACKS,
    MAX_METADATA_DEPTH,
    MAX_TOKENS,
    MAX_UPSTREAM,
    CanonicalEvent,
    UnreadableRecord,
    event_validate,
    text_problem,
)
from billing.usage.models import TOKEN_COLUMNS
from tests.billing.usage.factories import AT

NOW = AT + timedelta(hours=1)

# Values PostgreSQL refuses or that sit at a limit, beside ordinary ones.
EDGE_TEXTS = [
    "", " ", "key-a", "deepseek-chat", "a\x00b", "\ud800", "\udce9x", "中文", "x" * 200, "x" * 201, "²",
    "12", "-5", "9" * 30, "NaN", "USD", "usd", "U\x00S", "ÄÖÜ", "success", "failed",
    "2026-05-04T10:30:00+00:00", "2026-05-04T10:30:00Z", "2026-05-04T10:30:00+15:59",
    "2026-05-04T10:30:00+20:50", "2026-05-04T10:30:00-16:00", "2026-05-04T10:30:00+05:30:00.5",
    "2026-05-04T10:30:00+05:60", "2026-05-04T10:30:00-03:99", "2026-05-04T10:30:00+0575",
    "2026-05-04T10:30:00+05:00:75", "2026-05-04T10:30:00", "1999-12-31T23:59:59+00:00",
    "9999-12-31T23:59:59-15:00",
    "0001-01-01T00:00:00+05:00",
    "1777890600", "1777890600.5", "²1777890600", "2026-05-04 10:30:00+08:00",
]  # fmt: skip
EDGE_TEXT = st.sampled_from(EDGE_TEXTS)
EDGE_NUMBER_VALUES = [
    0, 1, -1, 2**63, 2**64, MAX_TOKENS, MAX_TOKENS + 1, 10**16, 1777890600, 253402300800,
    Decimal("NaN"), Decimal("Infinity"), Decimal("-0"), Decimal("12.0"), Decimal("0.5"), Decimal("1e16"),
    Decimal("9999999999999999.99999999999999999999999995"), Decimal("1E-100000"), Decimal("1.5E+999999999"),
    float("nan"), float("inf"), 0.00042, 1777890600.25, True, False,
]  # fmt: skip
EDGE_NUMBERS = st.sampled_from(EDGE_NUMBER_VALUES)
# An int too long for Python to write out (its repr fails too, so it cannot sit in sampled_from).
HUGE_INT = st.builds(lambda: 10**5000)
SCALARS = (
    st.none() | st.booleans() | st.integers() | st.text(max_size=6) | EDGE_NUMBERS | HUGE_INT | EDGE_TEXT
)
ANY_JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(EDGE_TEXT | st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=12,
)
FIELDS = (
    "request_id", "occurred_at", "key", "key_fallbacks", "model", "upstream_account", *TOKEN_COLUMNS, "batch",
    "status",
    "gateway_cost", "gateway_cost_currency", "metadata",
    # the connectors' own fields
    "id", "startTime", "model_group", "model_id", "api_base", "call_type", "response_cost", "hidden_params",
    "response", "end_user", "created_at", "type", "token_name", "username", "model_name", "quota", "channel",
    "other", "native_tokens_prompt", "tokens_prompt", "native_tokens_completion", "native_tokens_cached",
    "native_tokens_reasoning", "external_user", "provider_name", "total_cost", "cancelled", "data",
)  # fmt: skip
RECORDS = st.dictionaries(st.sampled_from(FIELDS), ANY_JSON, max_size=12) | ANY_JSON


def depth(value) -> int:
    if isinstance(value, dict | list):
        return 1 + max((depth(v) for v in (value.values() if isinstance(value, dict) else value)), default=0)
    return 0


def assert_storable(event: CanonicalEvent) -> None:
    """What PostgreSQL needs of every column of usage_event, checked directly."""
    for name, limit in (
        ("request_id", MAX_ID),
        ("key", MAX_ID),
        ("model", MAX_ID),
        ("upstream_account", MAX_UPSTREAM),
    ):
        value = getattr(event, name)
        assert isinstance(value, str) and len(value) <= limit and text_problem(value) is None, name
    assert event.request_id and event.key and event.model
    assert len(set(event.keys)) == len(event.keys) <= 1 + MAX_KEY_FALLBACKS
    for key in event.key_fallbacks:
        assert isinstance(key, str) and 0 < len(key) <= MAX_ID and text_problem(key) is None
    offset = event.occurred_at.utcoffset()
    assert -timedelta(hours=16) < offset < timedelta(hours=16) and not offset.microseconds
    assert EARLIEST <= event.occurred_at <= NOW + FUTURE_TOLERANCE
    for name in TOKEN_COLUMNS:
        assert type(getattr(event, name)) is int and 0 <= getattr(event, name) <= MAX_TOKENS, name
    if event.gateway_cost is not None:
        cost = event.gateway_cost
        assert cost.is_finite() and 0 <= cost < Decimal(10) ** 16 and cost.as_tuple().exponent >= -24
        assert event.gateway_cost_currency.isascii() and len(event.gateway_cost_currency) in (0, 3)
    text = json.dumps(event.metadata, allow_nan=False, ensure_ascii=False)
    assert "\\u0000" not in json.dumps(event.metadata) and text.encode()
    assert depth(event.metadata) <= MAX_METADATA_DEPTH


@settings(max_examples=600, deadline=None)
@given(record=RECORDS, fmt=st.sampled_from(["generic", "litellm", "newapi", "openrouter"]))
def test_any_record_becomes_a_storable_event_or_row_errors_never_an_exception(record, fmt):
    try:
        canonical = connector_for(fmt)(record)
    except ConnectorError as exc:
        assert exc.field and exc.reason and text_problem(exc.reason) is None
        return
    result = event_validate(canonical, 3, now=NOW)
    if isinstance(result, list):
        assert result and all(e.index == 3 and e.field and text_problem(e.reason) is None for e in result)
        json.dumps([e.as_dict() for e in result], allow_nan=False)  # the stored answer
    else:
        assert_storable(result)


def test_an_unreadable_row_is_reported_with_its_reason_by_every_connector():
    row = UnreadableRecord("is not UTF-8 text")
    for fmt in ("generic", "litellm", "newapi", "openrouter"):
        try:
            result = event_validate(connector_for(fmt)(row), 4, now=NOW)
        except ConnectorError as exc:
            assert (exc.field, exc.reason) == ("non_field_errors", "is not UTF-8 text")
        else:
            assert [e.as_dict() for e in result] == [
                {"index": 4, "field": "non_field_errors", "reason": "is not UTF-8 text"}
            ]


GOOD = {
    "request_id": "r1",
    "occurred_at": "2026-05-04T10:30:00+08:00",
    "key": "key-a",
    "model": "deepseek-chat",
    "upstream_account": "up-1",
    "prompt_tokens": 1000,
    "cache_read_tokens": 100,
    "completion_tokens": 500,
    "reasoning_tokens": 50,
    "gateway_cost": Decimal("0.0012"),
    "gateway_cost_currency": "USD",
    "metadata": {"ua": "x", "n": [1, Decimal("2.5")]},
}


@settings(max_examples=800, deadline=None)
@given(changes=st.dictionaries(st.sampled_from([*GOOD, "batch", "status"]), ANY_JSON, max_size=3))
def test_the_bulk_fast_check_accepts_only_what_event_validate_accepts_unchanged(changes):
    raw = {**GOOD, **changes}

    fast = fast_event(raw, NOW + FUTURE_TOLERANCE, 1)
    reference = event_validate(raw, 0, now=NOW)

    if fast is None:
        return  # decided the slow way, by event_validate itself
    assert isinstance(reference, CanonicalEvent), reference
    request_id, at, keys, model, counts, batch, succeeded, _head, upstream, _at_text, _units, _tier = fast
    assert (request_id, at, keys, model, upstream, batch, succeeded) == (
        reference.request_id,
        reference.occurred_at,
        reference.keys,
        reference.model,
        reference.upstream_account,
        reference.batch,
        reference.succeeded,
    )
    assert list(counts) == [getattr(reference, name) for name in TOKEN_COLUMNS]
    assert_storable(reference)


def test_every_edge_value_in_every_field_is_decided_alike_by_both_checks():
    """The generated test above, exhaustively over the edge values: each in each field of a good event."""
    values = [*EDGE_TEXTS, *EDGE_NUMBER_VALUES, 10**5000, None, [], {}]
    values += [{"ua": value} for value in values]
    for name in [*GOOD, "batch", "status"]:
        for value in values:
            raw = {**GOOD, name: value}
            fast = fast_event(raw, NOW + FUTURE_TOLERANCE, 1)
            reference = event_validate(raw, 0, now=NOW)
            if fast is not None:
                assert isinstance(reference, CanonicalEvent), (name, value, reference)
                assert (fast[0], fast[1], fast[2], fast[3], list(fast[4])) == (
                    reference.request_id,
                    reference.occurred_at,
                    reference.keys,
                    reference.model,
                    [getattr(reference, n) for n in TOKEN_COLUMNS],
                ), (name, value)
            if isinstance(reference, CanonicalEvent):
                assert_storable(reference)


def test_metadata_nesting_is_limited_alike_on_both_paths():
    """orjson, which writes metadata on the bulk path's fast way, refuses what is nested deeper than the
    limit; event_validate refuses the same, so no row is stored on one path and refused on the other."""

    def nested(levels: int) -> dict:
        value: object = 1
        for _ in range(levels - 1):
            value = [value]
        return {"m": value}

    at_limit = {**GOOD, "metadata": nested(MAX_METADATA_DEPTH)}
    beyond = {**GOOD, "metadata": nested(MAX_METADATA_DEPTH + 1)}

    assert fast_event(at_limit, NOW, 1) is not None
    assert isinstance(event_validate(at_limit, 0, now=NOW), CanonicalEvent)
    assert fast_event(beyond, NOW, 1) is None
    assert [e.field for e in event_validate(beyond, 0, now=NOW)] == ["metadata"]


def test_a_token_count_too_large_for_the_decimal_context_is_a_field_error():
    from billing.usage.connectors.base import count

    for value in (Decimal("9E+999999"), Decimal("-9E+999999")):
        try:
            count({"tokens_prompt": value}, "tokens_prompt")
        except ConnectorError as exc:
            assert (exc.field, exc.reason) == ("tokens_prompt", "must be a whole number of tokens")
        else:
            raise AssertionError(f"{value} was taken as a token count")


@settings(max_examples=400, deadline=None)
@given(fallbacks=st.lists(EDGE_TEXT | st.text(max_size=3) | st.none() | EDGE_NUMBERS, max_size=10) | ANY_JSON)
def test_key_fallbacks_are_checked_as_the_key_is_and_alike_by_both_checks(fallbacks):
    raw = {**GOOD, "key_fallbacks": fallbacks}
    fast = fast_event(raw, NOW + FUTURE_TOLERANCE, 1)
    reference = event_validate(raw, 0, now=NOW)
    if isinstance(reference, CanonicalEvent):
        assert_storable(reference)
    else:
        assert {e.field.split("[")[0] for e in reference} == {"key_fallbacks"}, reference
    if fast is not None:
        assert isinstance(reference, CanonicalEvent), reference
        assert fast[2] == reference.keys


def test_key_fallbacks_keep_their_order_without_blanks_or_repeats_and_name_a_bad_one():
    raw = {**GOOD, "key": "hash-1", "key_fallbacks": [" alias ", None, "", "hash-1", "team", "alias"]}
    assert event_validate(raw, 0, now=NOW).keys == ("hash-1", "alias", "team")
    assert fast_event(raw, NOW + FUTURE_TOLERANCE, 1) is None  # blanks are the slow way's to drop
    plain = {**GOOD, "key": "hash-1", "key_fallbacks": ["alias", "team"]}
    assert fast_event(plain, NOW + FUTURE_TOLERANCE, 1)[2] == ("hash-1", "alias", "team")
    assert fast_event({**GOOD, "key_fallbacks": []}, NOW, 1)[2] == (GOOD["key"],)

    bad = event_validate({**GOOD, "key_fallbacks": ["alias", True, "x" * 201]}, 7, now=NOW)
    assert [e.as_dict() for e in bad] == [
        {"index": 7, "field": "key_fallbacks[1]", "reason": "must be a string"},
        {"index": 7, "field": "key_fallbacks[2]", "reason": "is longer than 200 characters"},
    ]
    assert [e.reason for e in event_validate({**GOOD, "key_fallbacks": "alias"}, 0, now=NOW)] == [
        "must be a list of strings"
    ]
    too_many = {**GOOD, "key_fallbacks": [f"k{i}" for i in range(MAX_KEY_FALLBACKS + 1)]}
    assert [e.reason for e in event_validate(too_many, 0, now=NOW)] == [
        f"must hold at most {MAX_KEY_FALLBACKS} keys"
    ]
