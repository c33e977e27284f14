"""The request log pages and exports: who may read what, bad input, the CSV's content and streaming."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape

from accounts.models import StaffRole
from billing.usage.models import UsageEvent
from billing.usage.request_log import Cursor
from billing.usage.services import usage_batch_ingest
from common.stored_text import stored_render
from tests.billing.factories import staff
from tests.billing.usage.conftest import top_up
from tests.billing.usage.factories import AT, customer_make, event
from tests.factories import MembershipFactory, SubDistributorFactory

pytestmark = pytest.mark.django_db

# AT is 2026-05-04 10:30 UTC, 18:30 in Asia/Shanghai (the settings' zone): a day around it, local times.
DAY = {"start": "2026-05-04T00:00", "end": "2026-05-05T00:00"}
PORTAL, PORTAL_CSV = "portal-request-log", "portal-request-log-csv"
STAFF, STAFF_CSV = "staff-request-log", "staff-request-log-csv"


@pytest.fixture
def usage(source, prepaid, model):
    """Two customers' requests on 4 May: ``prepaid`` has three (one unrated), ``other`` one."""
    other = customer_make(key="key-b")
    top_up(prepaid, Decimal("100"))
    top_up(other, Decimal("100"))
    usage_batch_ingest(
        source=source,
        records=[
            event("mine-1", cache_read_tokens=200, reasoning_tokens=50),
            event("mine-2", at=AT - timedelta(hours=1), images=0),
            event("mine-unrated", model="mystery", at=AT - timedelta(hours=2)),
            event("theirs-1", key="key-b"),
        ],
    )
    return prepaid, other


def _member(customer):
    return MembershipFactory(customer=customer).user


def _request_ids(response) -> list[str]:
    return [row["request_id"] for row in response.context["rows"]]


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def test_a_customer_sees_its_own_requests_only(client, usage):
    prepaid, _other = usage
    client.force_login(_member(prepaid))

    response = client.get(reverse(PORTAL), DAY)

    assert response.status_code == 200
    assert _request_ids(response) == ["mine-1", "mine-2", "mine-unrated"]
    page = response.content.decode()
    assert "theirs-1" not in page
    assert 'name="customer"' not in page  # one customer: nothing to choose
    # the unrated request says why, on hover and in its details
    assert "unknown_model" in page
    row = response.context["rows"][0]
    assert (row["prompt_tokens"], row["cache_read_tokens"], row["reasoning_tokens"]) == (1000, 200, 50)


def test_another_customers_request_id_is_not_found(client, usage):
    prepaid, other = usage
    client.force_login(_member(prepaid))

    response = client.get(reverse(PORTAL), {"request_id": "theirs-1"})
    assert response.status_code == 200
    assert _request_ids(response) == []
    assert 'data-testid="request-log-empty"' in response.content.decode()
    # nor by naming the customer: an end customer's form has no customer to choose, the id is ignored
    response = client.get(reverse(PORTAL), {"request_id": "theirs-1", "customer": other.pk})
    assert response.status_code == 200 and _request_ids(response) == []
    # nor in an export
    rows = _csv(client.get(reverse(PORTAL_CSV), DAY))
    assert [r[1] for r in rows[1:]] == ["mine-1", "mine-2", "mine-unrated"]


def test_a_request_is_found_by_its_id_whatever_the_range(client, usage):
    prepaid, _other = usage
    client.force_login(_member(prepaid))

    response = client.get(reverse(PORTAL), {"request_id": "mine-2"})  # default range: the last 24 hours

    assert _request_ids(response) == ["mine-2"]
    assert 'data-testid="request-id-scope"' in response.content.decode()


def test_a_sub_distributor_sees_its_subtree_and_may_pick_a_customer(client, source, model):
    sub = SubDistributorFactory()
    below = customer_make(key="key-below", parent=sub)
    stranger = customer_make(key="key-stranger")
    usage_batch_ingest(
        source=source, records=[event("below-1", key="key-below"), event("stranger-1", key="key-stranger")]
    )
    client.force_login(_member(sub))

    everything = client.get(reverse(PORTAL), DAY)
    picked = client.get(reverse(PORTAL), {**DAY, "customer": below.pk})
    outside = client.get(reverse(PORTAL), {**DAY, "customer": stranger.pk})

    assert _request_ids(everything) == ["below-1"]
    assert 'name="customer"' in everything.content.decode()
    assert _request_ids(picked) == ["below-1"]
    assert outside.status_code == 400 and "rows" not in outside.context


@pytest.mark.parametrize("role", list(StaffRole.values))
def test_every_staff_role_reads_every_customers_requests(client, usage, role):
    prepaid, _other = usage
    client.force_login(staff(role))

    response = client.get(reverse(STAFF), DAY)
    picked = client.get(reverse(STAFF), {**DAY, "customer": prepaid.pk})

    assert response.status_code == 200
    assert _request_ids(response) == ["theirs-1", "mine-1", "mine-2", "mine-unrated"]
    assert _request_ids(picked) == ["mine-1", "mine-2", "mine-unrated"]
    assert "Our cost" in response.content.decode()


def test_the_pages_refuse_the_other_side_and_strangers(client, usage):
    prepaid, _other = usage
    client.force_login(_member(prepaid))
    assert client.get(reverse(STAFF), DAY).status_code == 403
    assert client.get(reverse(STAFF_CSV), DAY).status_code == 403
    client.force_login(staff(StaffRole.SUPPORT))
    assert client.get(reverse(PORTAL), DAY).status_code == 403
    assert client.get(reverse(PORTAL_CSV), DAY).status_code == 403
    client.logout()
    for name in (PORTAL, PORTAL_CSV, STAFF, STAFF_CSV):
        response = client.get(reverse(name), DAY)
        assert response.status_code == 302 and "login" in response["Location"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "yesterday", "end": "2026-05-05T00:00"}, "start"),
        ({"start": "2026-05-04T00:00", "end": "2026-13-45T99:00"}, "end"),
        ({"start": "2026-05-05T00:00", "end": "2026-05-04T00:00"}, "end"),
        ({"start": "2026-05-04T00:00", "end": "2026-05-04T00:00"}, "end"),
        ({"start": "2026-03-01T00:00", "end": "2026-05-04T00:00"}, "end"),
        ({**DAY, "cursor": "not-a-cursor"}, "cursor"),
        ({**DAY, "cursor": "bjEyMw"}, "cursor"),
        ({**DAY, "status": "lost"}, "status"),
        ({**DAY, "customer": "x"}, "customer"),
        ({**DAY, "request_id": "r" * 201}, "request_id"),
    ],
)
def test_bad_input_is_a_form_error_never_a_server_error(client, usage, params, field):
    client.force_login(staff(StaffRole.SALES))

    page = client.get(reverse(STAFF), params)
    export = client.get(reverse(STAFF_CSV), params)

    assert page.status_code == 400 and field in page.context["form"].errors
    assert export.status_code == 400 and field in export.context["form"].errors
    assert 'class="invalid-feedback' in page.content.decode() or field == "cursor"


def test_the_range_error_says_the_limit(client, usage):
    client.force_login(_member(usage[0]))
    with translation.override("en"):
        response = client.get(reverse(PORTAL), {"start": "2026-03-01T00:00", "end": "2026-05-04T00:00"})
    assert "At most 31 days at a time" in response.content.decode()


def test_pages_are_linked_by_cursors_and_keep_the_range(client, source, prepaid, model):
    top_up(prepaid, Decimal("100"))
    usage_batch_ingest(
        source=source, records=[event(f"r{i:02d}", at=AT - timedelta(seconds=i // 4)) for i in range(60)]
    )
    client.force_login(_member(prepaid))

    first = client.get(reverse(PORTAL), DAY)
    second = client.get(reverse(PORTAL) + "?" + first.context["next_query"])

    assert len(first.context["rows"]) == 50 and first.context["previous_query"] is None
    assert len(second.context["rows"]) == 10 and second.context["next_query"] is None
    assert set(_request_ids(first)).isdisjoint(_request_ids(second))
    assert "start=2026-05-04T00%3A00" in first.context["next_query"]
    back = client.get(reverse(PORTAL) + "?" + second.context["previous_query"])
    assert _request_ids(back) == _request_ids(first)


def test_an_empty_form_searches_the_last_24_hours_up_to_now(client, source, prepaid, model):
    top_up(prepaid, Decimal("100"))
    now = timezone.now()
    usage_batch_ingest(
        source=source,
        records=[event("recent", at=now - timedelta(hours=23)), event("older", at=now - timedelta(hours=25))],
    )
    client.force_login(_member(prepaid))

    response = client.get(reverse(PORTAL))

    assert response.status_code == 200
    assert _request_ids(response) == ["recent"]
    form = response.context["form"]
    assert form.cleaned_data["end"] - form.cleaned_data["start"] == timedelta(hours=24)


def test_the_csv_is_streamed_with_exact_amounts_every_class_and_local_times(client, usage):
    prepaid, _other = usage
    client.force_login(_member(prepaid))

    with translation.override("en"):
        response = client.get(reverse(PORTAL_CSV), DAY)

    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert "requests-20260504-0000-20260505-0000.csv" in response["Content-Disposition"]
    header, *rows = _csv(response)
    assert header[:6] == [
        "Time",
        "Request id",
        "Customer code",
        "Gateway key",
        "Model as sent",
        "Input tokens",
    ]
    assert len(header) == 19 and not {"Cost", "Our cost", "Our sale"} & set(header)  # never our figures
    by_id = {row[1]: dict(zip(header, row, strict=True)) for row in rows}
    assert list(by_id) == ["mine-1", "mine-2", "mine-unrated"]
    mine = by_id["mine-1"]
    stored = UsageEvent.objects.get(request_id="mine-1")
    assert mine["Time"] == "2026-05-04T18:30:00+08:00"
    assert mine["Charge"] == format(stored.sell_amount, "f") and mine["Currency"] == "CNY"
    assert (mine["Input tokens"], mine["Cache read tokens"], mine["Reasoning tokens"]) == (
        "1000",
        "200",
        "50",
    )
    assert mine["Audio seconds"] == "0" and mine["Status"] == "Charged" and mine["Reason"] == ""
    assert mine["Customer code"] == prepaid.code
    unrated = by_id["mine-unrated"]
    assert unrated["Charge"] == "" and unrated["Reason"].startswith("unknown_model")


def test_the_staff_csv_adds_our_sale_and_cost_and_reads_in_chinese(client, usage):
    client.force_login(staff(StaffRole.FINANCE))

    response = client.get(reverse(STAFF_CSV), DAY, HTTP_ACCEPT_LANGUAGE="zh-hans")
    header, *rows = _csv(response)

    assert {"向客户收取", "收取方", "我方销售", "我方成本"} <= set(header) and len(header) == 24
    assert len(rows) == 4
    assert rows[0][header.index("状态")] == "已计费"


def test_a_cursor_outside_the_range_gives_an_empty_page_not_an_error(client, usage):
    client.force_login(_member(usage[0]))
    far = Cursor(AT - timedelta(days=400), 1).encode()

    response = client.get(reverse(PORTAL), {**DAY, "cursor": far})

    assert response.status_code == 200 and _request_ids(response) == []


def test_quick_ranges_link_whole_local_days(client, usage):
    client.force_login(_member(usage[0]))

    response = client.get(reverse(PORTAL))

    ranges = dict(response.context["quick_ranges"])
    today = timezone.localdate()
    assert (
        ranges["Today"] == f"start={today:%Y-%m-%d}T00%3A00&end={today + timedelta(days=1):%Y-%m-%d}T00%3A00"
    )
    assert (
        ranges["Yesterday"]
        == f"start={today - timedelta(days=1):%Y-%m-%d}T00%3A00&end={today:%Y-%m-%d}T00%3A00"
    )
    assert response.content.decode().count('data-testid="quick-range"') == 5


def test_statuses_show_why_and_filter(client, source, prepaid, model):
    top_up(prepaid, Decimal("10"))
    usage_batch_ingest(
        source=source,
        records=[
            event("ok"),
            event("broke", status="failed", at=AT - timedelta(minutes=1)),
            event(
                "settled",
                prompt=0,
                completion=0,
                status="adjustment",
                gateway_cost="-0.2",
                gateway_cost_currency="CNY",
                at=AT - timedelta(minutes=2),
            ),
        ],
    )
    client.force_login(_member(prepaid))

    page = client.get(reverse(PORTAL), DAY).content.decode()
    failed = client.get(reverse(PORTAL), {**DAY, "status": "failed"})
    adjustments = client.get(reverse(PORTAL), {**DAY, "status": "adjustment"})

    assert "The request failed: it is not charged." in page
    assert "A quota adjustment the gateway reported" in page
    assert _request_ids(failed) == ["broke"]
    assert _request_ids(adjustments) == ["settled"]


def test_a_sub_distributors_export_names_each_customer_of_its_subtree_only(client, source, model):
    sub = SubDistributorFactory()
    below = customer_make(key="key-below", parent=sub)
    stranger = customer_make(key="key-stranger")
    usage_batch_ingest(
        source=source, records=[event("below-1", key="key-below"), event("stranger-1", key="key-stranger")]
    )
    client.force_login(_member(sub))

    with translation.override("en"):
        header, *rows = _csv(client.get(reverse(PORTAL_CSV), DAY))

    assert [(row[1], row[header.index("Customer code")]) for row in rows] == [("below-1", below.code)]
    assert stranger.code not in str(rows)


def test_one_end_of_the_range_given_makes_a_day_from_it(client, usage):
    client.force_login(_member(usage[0]))

    only_end = client.get(reverse(PORTAL), {"end": "2026-05-05T00:00"})
    only_start = client.get(reverse(PORTAL), {"start": "2026-05-04T00:00"})

    for response in (only_end, only_start):
        form = response.context["form"]
        assert response.status_code == 200
        assert timezone.localtime(form.cleaned_data["start"]).strftime("%Y-%m-%dT%H:%M") == "2026-05-04T00:00"
        assert form.cleaned_data["end"] - form.cleaned_data["start"] == timedelta(hours=24)
        assert _request_ids(response) == ["mine-1", "mine-2", "mine-unrated"]


def test_the_excel_link_adds_the_byte_order_mark_to_the_streamed_csv(client, usage):
    client.force_login(_member(usage[0]))

    page = client.get(reverse(PORTAL), DAY).content.decode()
    response = client.get(reverse(PORTAL_CSV), {**DAY, "bom": "1"})

    assert 'data-testid="request-log-csv-excel"' in page and "bom=1" in page
    body = b"".join(response.streaming_content)
    assert body.startswith("\ufeff".encode()) and b"mine-1" in body


def test_the_unrated_reason_reads_in_the_readers_language(client, usage):
    client.force_login(_member(usage[0]))
    unrated = UsageEvent.objects.get(request_id="mine-unrated")
    assert unrated.unrated_message is not None  # the reason is stored as a message key too

    page = client.get(reverse(PORTAL), DAY, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    header, *rows = _csv(client.get(reverse(PORTAL_CSV), DAY, HTTP_ACCEPT_LANGUAGE="zh-hans"))

    chinese = stored_render(unrated.unrated_message, unrated.unrated_reason, language="zh-hans")
    assert chinese != unrated.unrated_reason
    assert escape(chinese) in page
    assert rows[-1][header.index("原因")] == chinese
