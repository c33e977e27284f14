"""Unrated reasons are stored as a message key and parameters beside the English text, on both ingest paths
and on re-rating, and the unrated page shows them in the reader's language."""

import re

import pytest
from django.urls import reverse
from django.utils import translation

from accounts.models import StaffRole
from billing.usage.bulk.ingest import bulk_ingest
from billing.usage.models import GatewayKey, RatingState, UsageEvent, UsageRequestKey
from billing.usage.rerate import usage_rerate
from billing.usage.services import usage_batch_ingest
from catalog.models import AIModel
from common.stored_text import stored_render
from tests.billing.factories import staff
from tests.billing.usage.factories import alias_add, event

pytestmark = pytest.mark.django_db

CJK = re.compile(r"[\u4e00-\u9fff]")


def _values(params) -> list[str]:
    """Every plain parameter value of a stored message (names, keys, dates: data, not text to translate)."""
    found = []
    for value in (params or {}).values():
        if isinstance(value, dict):
            found += _values(value.get("params", value))
        elif isinstance(value, str):
            found.append(value)
    return found


def assert_chinese(message: dict, english: str) -> str:
    """``message`` renders as ``english`` in English, and in Chinese with no English word left once its data
    (the parameters' values) is taken out."""
    assert stored_render(message, language="en") == english
    chinese = stored_render(message, english, language="zh-hans")
    rest = chinese
    for value in sorted(_values(message["params"]), key=len, reverse=True):
        rest = rest.replace(value, "")
    assert CJK.search(chinese) and not re.search(r"[A-Za-z]{2,}", rest), chinese
    return chinese


@pytest.fixture
def bare(model):
    """A known model no book prices: the catalog's refusal (naming the plan and its book) is the detail."""
    return AIModel.objects.create(vendor=model.vendor, name="bare")


@pytest.fixture
def records(prepaid, bare):
    return [event("m", model="mystery"), event("k", key="nobody"), event("p", model="bare"), event("ok")]


def _check_stored(reasons: dict) -> None:
    events = {e.request_id: e for e in UsageEvent.objects.filter(request_id__in=reasons)}
    for request_id, (key, detail_key) in reasons.items():
        row = events[request_id]
        assert row.rating_state == RatingState.UNRATED
        assert row.unrated_message["key"] == key
        assert row.unrated_message["params"]["detail"]["key"] == detail_key
        assert_chinese(row.unrated_message, row.unrated_reason)
    assert UsageEvent.objects.get(request_id="ok").unrated_message is None


REASONS = {
    "m": ("usage.unrated.unknown_model", "usage.unrated.no_such_model"),
    "k": ("usage.unrated.unknown_key", "usage.unrated.no_such_key"),
    "p": ("usage.unrated.no_price", "catalog.pricing.source_no_price"),
}


def test_the_per_batch_path_stores_the_reason_as_text_that_reads_in_chinese(source, records):
    usage_batch_ingest(source=source, records=records)

    _check_stored(REASONS)
    chinese = stored_render(UsageEvent.objects.get(request_id="p").unrated_message, language="zh-hans")
    assert chinese.startswith("无价格：销售方案 'standard-CNY' 依据价格表 'sell-CNY'为 bare 定价"), chinese


@pytest.mark.postgres
def test_the_bulk_path_stores_the_same_message_as_the_per_batch_path(source, records):
    # a name COPY text and JSON must both escape (backslash, quote, tab, non-ASCII) reads back as sent
    records = [*records, event("odd", model='模型\\"x\ty')]
    bulk_ingest(source=source, records=records, key_prefix="file-1", chunk=2)
    _check_stored(REASONS)
    odd = UsageEvent.objects.get(request_id="odd")
    assert odd.unrated_message["params"]["detail"]["params"]["model"] == repr('模型\\"x\ty')
    bulk = dict(UsageEvent.objects.values_list("request_id", "unrated_message"))

    UsageEvent.objects.all().delete()
    UsageRequestKey.objects.all().delete()
    usage_batch_ingest(source=source, records=records)
    assert dict(UsageEvent.objects.values_list("request_id", "unrated_message")) == bulk


def test_rerating_updates_the_message_and_clears_it_once_rated(source, prepaid, model, bare):
    records = [event("k", key="later", model="bare"), event("a", model="ds-chat")]
    usage_batch_ingest(source=source, records=records)
    assert UsageEvent.objects.get(request_id="k").unrated_message["key"] == "usage.unrated.unknown_key"

    # the key is mapped, but nothing prices the model: still unrated, for the new reason
    GatewayKey.objects.create(key="later", customer=prepaid)
    alias_add(model, "ds-chat")
    usage_rerate()

    still = UsageEvent.objects.get(request_id="k")
    assert still.rating_state == RatingState.UNRATED and still.unrated_reason.startswith("no_price")
    assert still.unrated_message["key"] == "usage.unrated.no_price"
    assert_chinese(still.unrated_message, still.unrated_reason)
    rated = UsageEvent.objects.get(request_id="a")
    assert rated.rating_state == RatingState.RATED and rated.unrated_message is None


def test_the_unrated_page_reads_in_chinese(client, source, records):
    usage_batch_ingest(source=source, records=records)
    client.force_login(staff(StaffRole.SUPPORT))

    with translation.override("zh-hans"):
        page = client.get(reverse("staff-usage-unrated"), HTTP_ACCEPT_LANGUAGE="zh-hans")

    html = page.content.decode()
    assert "未知模型：&#x27;mystery&#x27; 不是已知的模型或别名" in html
    assert "没有客户使用密钥 &#x27;nobody&#x27;" in html
    assert "is not a known model" not in html and "has no price" not in html and "no customer has" not in html
    # counted by reason code, each told in Chinese; the filter offers the same labels
    labels = {code: label for code, label, _count in page.context["reason_counts"]}
    assert labels == {
        "unknown_model": "未知的模型名称",
        "unknown_key": "未知的网关密钥",
        "no_price": "模型没有价格",
    }
    assert 'data-reason="no_price">模型没有价格' in html
    assert ">未知的网关密钥</option>" in html


def test_the_unrated_page_keeps_the_english_text_of_events_stored_before_the_key(client, source, records):
    usage_batch_ingest(source=source, records=records)
    UsageEvent.objects.filter(request_id="m").update(unrated_message=None)
    client.force_login(staff(StaffRole.AUDITOR))

    with translation.override("zh-hans"):
        html = client.get(reverse("staff-usage-unrated"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    assert "unknown_model: &#x27;mystery&#x27; is not a known model or alias" in html
