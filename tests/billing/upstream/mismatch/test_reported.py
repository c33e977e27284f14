"""Signal (a): responses whose reported model is another one than requested."""

from decimal import Decimal

import pytest

from billing.upstream.mismatch import reported
from billing.upstream.mismatch.names import model_base
from billing.upstream.mismatch.selectors import flag_events
from billing.upstream.mismatch.services import mismatch_scan
from billing.upstream.models import MismatchFlag
from tests.billing.upstream.mismatch.factories import DAY, at, record
from tests.billing.usage.factories import alias_add

pytestmark = pytest.mark.django_db


def _day(
    world,
    *,
    channel="ant-a",
    total=100,
    wrong=0,
    reported_wrong="glm-4.6",
    right="claude-opus-20250805",
    day=DAY,
):
    rows = [
        record(
            f"{channel}-{day:%d}-{i}",
            channel=channel,
            when=at(day, 1 + i % 20, i % 60),
            reported=reported_wrong if i < wrong else right,
        )
        for i in range(total)
    ]
    world.ingest(rows)


def _scan():
    return mismatch_scan(date_from=DAY, date_to=DAY)


def test_responses_naming_another_model_are_flagged_with_counts_and_samples(world):
    _day(world, total=100, wrong=12)
    result = _scan()
    flag = MismatchFlag.objects.get()
    assert (result.created, flag.channel, flag.model, flag.day) == (1, world.channels[0], world.opus, DAY)
    assert flag.signal == MismatchFlag.Signal.REPORTED_MODEL and flag.state == MismatchFlag.State.OPEN
    assert (flag.evidence["events"], flag.evidence["reporting"], flag.evidence["mismatched"]) == (
        100,
        100,
        12,
    )
    assert flag.evidence["share"] == "0.1200" and str(flag.score) == "0.1200"
    assert flag.evidence["reported"] == [{"name": "glm-4.6", "count": 12}]
    assert {s["request_id"] for s in flag.evidence["samples"]} == {f"ant-a-20-{i}" for i in range(12)}
    assert all(
        s["reported"] == "glm-4.6" and s["requested"] == "claude-opus" for s in flag.evidence["samples"]
    )
    # The events behind the flag, every one of them, in time order.
    events = list(flag_events(flag))
    assert {e.request_id for e in events} == {f"ant-a-20-{i}" for i in range(12)}
    assert [e.occurred_at for e in events] == sorted(e.occurred_at for e in events)


def test_a_cheaper_catalog_model_is_another_model(world):
    _day(world, total=50, wrong=5, reported_wrong="anthropic/claude-haiku-20241022")
    _scan()
    flag = MismatchFlag.objects.get()
    assert flag.evidence["reported"] == [{"name": "anthropic/claude-haiku-20241022", "count": 5}]


@pytest.mark.parametrize(
    "name",
    [
        "claude-opus",
        "CLAUDE-OPUS",
        "claude-opus-20250805",
        "claude-opus@20250805",
        "anthropic/claude-opus-2025-08-05",
        "us.anthropic.claude-opus-20250805-v1:0",
        "claude-opus-latest",
        "opus-alias",
    ],
)
def test_snapshots_prefixes_and_aliases_of_the_same_model_flag_nothing(world, name):
    alias_add(world.opus, "opus-alias")
    _day(world, total=40, wrong=40, reported_wrong=name)
    assert _scan().flagged == 0
    assert not MismatchFlag.objects.exists()


def test_model_base_rules():
    assert model_base("openrouter/openai/gpt-4o-2024-08-06") == "gpt-4o"
    assert model_base("gpt-4-0613") == "gpt-4"
    assert model_base("gemini-1.5-pro-002") == "gemini-1.5-pro"
    assert model_base("deepseek-v3") == "deepseek-v3"  # a version in the name is another model
    assert model_base("gpt-4o-mini") == "gpt-4o-mini"


@pytest.mark.parametrize(
    "total,wrong,flagged",
    [
        (300, 3, False),  # 1.00%: not above the threshold
        (300, 4, True),  # 1.33%
        (100, 2, False),  # 2%, but fewer than three responses
        (100, 3, True),
    ],
)
def test_threshold_share_and_minimum_count(world, total, wrong, flagged):
    assert Decimal("0.01") == reported.REPORTED_SHARE and reported.REPORTED_MIN_EVENTS == 3
    _day(world, total=total, wrong=wrong)
    _scan()
    assert MismatchFlag.objects.exists() is flagged


def test_only_responses_that_name_a_model_count_and_aliases_of_a_channel_are_one_channel(world):
    # 10 responses name the wrong model through the channel's alias, 10 the right one through its name,
    # 100 name none (a gateway that does not log it): the share is 10 of 20, not of 120.
    world.ingest(
        [record(f"x{i}", channel="deploy-a", when=at(DAY, 3, i), reported="glm-4.6") for i in range(10)]
        + [record(f"y{i}", channel="ANT-A", when=at(DAY, 4, i), reported="claude-opus") for i in range(10)]
        + [record(f"z{i}", channel="ant-a", when=at(DAY, 5, i)) for i in range(100)]
    )
    _scan()
    flag = MismatchFlag.objects.get()
    assert (flag.evidence["events"], flag.evidence["reporting"], flag.evidence["mismatched"]) == (120, 20, 10)
    assert len(list(flag_events(flag))) == 10


def test_unmapped_accounts_other_days_and_other_channels_stay_out(world):
    _day(world, channel="somebody-else", total=50, wrong=50)  # no channel of that name: nothing to flag
    _day(world, channel="ant-b", total=50, wrong=0)
    _day(world, channel="ant-a", total=50, wrong=50, day=DAY.replace(day=21))
    assert _scan().flagged == 0
    assert mismatch_scan(date_from=DAY, date_to=DAY.replace(day=21)).created == 1
    assert MismatchFlag.objects.get().day == DAY.replace(day=21)


def test_an_unknown_requested_model_is_compared_by_name(world):
    # The event's model is not in the catalog (kept unrated): the reported name is compared with it.
    world.ingest(
        [
            record(f"u{i}", channel="ant-a", when=at(DAY, 6, i), model="mystery-1", reported="mystery-1-0101")
            for i in range(5)
        ]
        + [
            record(f"v{i}", channel="ant-a", when=at(DAY, 7, i), model="mystery-2", reported="other-9")
            for i in range(5)
        ]
    )
    _scan()
    flag = MismatchFlag.objects.get()
    assert (flag.model, flag.model_name, flag.evidence["mismatched"]) == (None, "mystery-2", 5)
    assert {e.request_id for e in flag_events(flag)} == {f"v{i}" for i in range(5)}
