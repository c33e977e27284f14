"""A mismatch flag's detail is stored with its message key and parameters beside the English, and reads
in Chinese."""

import re

import pytest

from billing.upstream.mismatch.services import mismatch_scan
from billing.upstream.models import MismatchFlag
from common.stored_text import stored_render
from tests.billing.upstream.mismatch.factories import DAY, at, record, vendor_row
from tests.billing.upstream.mismatch.test_shift import _history, _target

pytestmark = pytest.mark.django_db

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_reported_model_and_price_table_flags_store_their_detail_as_stored_text(world):
    world.ingest([record(f"w{i}", channel="ant-a", when=at(DAY, 8, i), reported="glm-4.6") for i in range(5)])
    vendor_row(world.channels[1], world.haiku, cost="90", input_tokens=1_000_000, output_tokens=1_000_000)

    mismatch_scan(date_from=DAY, date_to=DAY)

    flags = {f.signal: f for f in MismatchFlag.objects.all()}
    expected = {
        MismatchFlag.Signal.REPORTED_MODEL: "upstream.mismatch.reported",
        MismatchFlag.Signal.PRICE_TABLE: "upstream.mismatch.price_table",
    }
    for signal, key in expected.items():
        flag = flags[signal]
        assert flag.detail_message["key"] == key
        assert stored_render(flag.detail_message, language="en") == flag.detail
        chinese = stored_render(flag.detail_message, language="zh-hans")
        assert CJK.search(chinese) and "responses" not in chinese and "vendor row" not in chinese


def test_a_shift_in_both_directions_joins_its_parts_in_the_readers_language(world):
    _history(world)
    _target(world, prompt=1400, output=800)
    mismatch_scan(date_from=DAY, date_to=DAY)

    flag = MismatchFlag.objects.get(signal=MismatchFlag.Signal.DISTRIBUTION_SHIFT)
    assert flag.detail_message["key"] == "upstream.mismatch.joined"
    assert stored_render(flag.detail_message, language="en") == flag.detail
    chinese = stored_render(flag.detail_message, language="zh-hans")
    assert chinese.count("每请求令牌数") == 2 and "以及" in chinese and "tokens/request" not in chinese
