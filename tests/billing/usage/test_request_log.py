"""The request log's selectors: filters, keyset pages, visibility, the request-id lookup, the query plan."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Q

from accounts.models import StaffRole
from billing.usage.models import UsageEvent
from billing.usage.request_log import (
    PAGE_SIZE,
    Cursor,
    RequestLogQuery,
    RequestStatus,
    request_log_customers,
    request_log_events,
    request_log_iter,
    request_log_page,
)
from billing.usage.services import usage_batch_ingest
from tests.billing.factories import staff
from tests.billing.usage.conftest import top_up
from tests.billing.usage.factories import AT, alias_add, customer_make, event
from tests.factories import MembershipFactory, SubDistributorFactory

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def _query(customers, **filters) -> RequestLogQuery:
    return RequestLogQuery(start=AT - DAY, end=AT + DAY, customers=customers, **filters)


def _ids(query) -> list[str]:
    return [row["request_id"] for row in request_log_iter(query)]


@pytest.fixture
def two_customers(source, prepaid, model):
    other = customer_make(key="key-b")
    top_up(prepaid, Decimal("100"))
    top_up(other, Decimal("100"))
    return prepaid, other


def test_filters_by_key_model_status_and_a_half_open_range(source, two_customers, model):
    prepaid, _other = two_customers
    alias_add(model, "ds-chat")
    usage_batch_ingest(
        source=source,
        records=[
            event("charged", at=AT),
            event("alias", model="ds-chat", at=AT - timedelta(seconds=1)),
            event("unrated", model="mystery", at=AT - timedelta(seconds=2)),
            event("failed", status="failed", at=AT - timedelta(seconds=3)),
            event(
                "adjust",
                prompt=0,
                completion=0,
                status="adjustment",
                gateway_cost="-0.5",
                gateway_cost_currency="CNY",
                at=AT - timedelta(seconds=4),
            ),
            event("at-end", at=AT + DAY),
            event("at-start", at=AT - DAY),
            event("other", key="key-b", at=AT),
        ],
    )
    mine = (prepaid.pk,)

    assert _ids(_query(mine)) == ["charged", "alias", "unrated", "failed", "adjust", "at-start"]
    assert _ids(_query(mine, status=RequestStatus.CHARGED)) == ["charged", "alias", "at-start"]
    assert _ids(_query(mine, status=RequestStatus.UNRATED)) == ["unrated"]
    assert _ids(_query(mine, status=RequestStatus.FAILED)) == ["failed"]
    assert _ids(_query(mine, status=RequestStatus.ADJUSTMENT)) == ["adjust"]
    # the model as sent, or the canonical name its alias resolved to
    assert _ids(_query(mine, model="ds-chat")) == ["alias"]
    assert _ids(_query(mine, model="deepseek-chat")) == ["charged", "alias", "failed", "adjust", "at-start"]
    assert _ids(_query(None, gateway_key="key-b")) == ["other"]
    rows = {row["request_id"]: row for row in request_log_iter(_query(mine))}
    assert rows["charged"]["status"] == RequestStatus.CHARGED and rows["charged"]["sell_amount"] > 0
    assert rows["unrated"]["status"] == RequestStatus.UNRATED
    assert rows["unrated"]["unrated_reason"].startswith("unknown_model")
    assert rows["adjust"]["status"] == RequestStatus.ADJUSTMENT
    assert rows["failed"]["status"] == RequestStatus.FAILED


@pytest.mark.parametrize("everyone", [False, True], ids=["one customer", "every customer (windows)"])
def test_keyset_pages_never_skip_or_repeat_rows_of_equal_instants(source, prepaid, model, everyone):
    top_up(prepaid, Decimal("1000"))
    # 130 requests, seven at each instant (so every page boundary falls inside a group of equal timestamps),
    # 25 minutes apart: the windows read over many customers (an hour, doubled) split the groups too.
    records = [event(f"r{i:03d}", at=AT - timedelta(minutes=25 * (i // 7))) for i in range(130)]
    usage_batch_ingest(source=source, records=records)
    query = _query(None if everyone else (prepaid.pk,))
    expected = list(
        UsageEvent.objects.filter(customer=prepaid)
        .order_by("-occurred_at", "-id")
        .values_list("id", flat=True)
    )

    pages, cursor = [], None
    while True:
        page = request_log_page(query, cursor)
        pages.append(page)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    forward = [row["id"] for page in pages for row in page.rows]

    assert [len(page.rows) for page in pages] == [PAGE_SIZE, PAGE_SIZE, 30]
    assert forward == expected
    assert pages[0].previous_cursor is None and pages[1].previous_cursor is not None
    # and back again from the last page through its Previous links
    backward, page = [], pages[-1]
    while page.previous_cursor is not None:
        page = request_log_page(query, page.previous_cursor)
        backward = [row["id"] for row in page.rows] + backward
    assert backward + [row["id"] for row in pages[-1].rows] == expected
    assert page.previous_cursor is None and page.next_cursor is not None


def test_cursor_round_trips_and_refuses_what_it_did_not_write():
    cursor = Cursor(AT + timedelta(microseconds=123), 42, forward=False)

    assert Cursor.decode(cursor.encode()) == cursor
    for garbage in (
        "",
        "x",
        "!!!",
        "bjEyMw",
        "cTEuMg",
        "bjEyMy4",
        "bi0xLjE=bi0xLjE=",
        "bjk5OTk5OTk5OTk5OTk5OTk5OTkuMQ",
    ):
        with pytest.raises(ValueError):
            Cursor.decode(garbage)


def test_a_request_id_is_found_at_any_date_but_only_among_the_customers_given(source, two_customers):
    prepaid, _other = two_customers
    usage_batch_ingest(
        source=source,
        records=[event("old-one", at=AT - 40 * DAY), event("theirs", key="key-b", at=AT - 40 * DAY)],
    )

    assert _ids(_query((prepaid.pk,), request_id="old-one")) == ["old-one"]
    assert _ids(_query((prepaid.pk,), request_id="theirs")) == []
    assert _ids(_query(None, request_id="theirs")) == ["theirs"]
    assert _ids(_query(None, request_id="nope")) == []
    # the range still applies to every search without a request id
    assert _ids(_query((prepaid.pk,))) == []


def test_only_the_gateways_row_of_a_request_is_listed(source, two_customers):
    """A derived row (hop 1: the same request rated one hop up the chain) repeats the request: left out."""
    prepaid, other = two_customers
    usage_batch_ingest(source=source, records=[event("once")])
    original = UsageEvent.objects.get(request_id="once")
    UsageEvent.objects.create(
        **{
            f.attname: getattr(original, f.attname)
            for f in UsageEvent._meta.concrete_fields
            if f.attname != "id"
        }
        | {"hop": 1, "customer_id": other.pk, "end_customer_id": prepaid.pk}
    )

    assert _ids(_query(None)) == ["once"]
    assert _ids(_query((other.pk,))) == []


def test_who_sees_which_customers(two_customers):
    prepaid, other = two_customers
    member = MembershipFactory(customer=prepaid).user
    sub = SubDistributorFactory()
    below = customer_make(key="key-c", parent=sub)
    sub_user = MembershipFactory(customer=sub).user

    assert request_log_customers(member) == (prepaid.pk,)
    assert request_log_customers(member, other.pk) == ()
    assert set(request_log_customers(sub_user)) == {sub.pk, below.pk}
    assert request_log_customers(sub_user, below.pk) == (below.pk,)
    assert request_log_customers(sub_user, prepaid.pk) == ()
    assert request_log_customers(staff(StaffRole.AUDITOR)) is None
    assert request_log_customers(staff(StaffRole.SUPPORT), other.pk) == (other.pk,)


def _plan(events) -> str:
    sql, params = events.query.sql_with_params()
    with connection.cursor() as cur:
        cur.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cur.fetchall())


@pytest.fixture
def a_month_of_events(source):
    """40,000 events of 4 customers (ids 9000…9003) over May 2026, inserted in time order as a live gateway's
    arrive, and the table analysed: the planner then chooses as it would on a real log. Stored as failed
    requests (not charged): rated ones would need their postings (billing_verify after each test)."""
    from billing.usage.models import UsageBatch
    from billing.usage.partitions import partitions_ensure

    batch = UsageBatch.objects.create(source=source, idempotency_key="plan", request_hash="-")
    partitions_ensure(months={AT.date().replace(day=1)})
    with connection.cursor() as cur:
        cur.execute(
            """
            INSERT INTO usage_event (source_id, batch_id, request_id, occurred_at, gateway_key, customer_id,
                model_name, upstream_account, prompt_tokens, cache_read_tokens, cache_write_tokens,
                cache_write_1h_tokens, completion_tokens, reasoning_tokens, is_batch, succeeded,
                gateway_cost_currency, metadata, rating_state, unrated_reason, sell_plan, sell_currency,
                cost_currency, ingested_at)
            SELECT %s, %s, 'plan-' || g, '2026-05-01T00:00:00Z'::timestamptz + g * interval '1 minute', 'k',
                   9000 + g %% 4, 'm', '', 10, 0, 0, 0, 5, 0, false, false, '', '{}', 'not_charged', '', '',
                   'CNY', 'CNY', now()
            FROM generate_series(0, 39999) AS g
            """,
            [source.pk, batch.pk],
        )
        cur.execute("ANALYZE usage_event")


@pytest.mark.postgres
def test_a_customers_pages_read_one_partition_through_the_customer_index(a_month_of_events):
    query = RequestLogQuery(start=AT - DAY, end=AT + DAY, customers=(9003,))
    events = request_log_events(query)
    at = AT - timedelta(hours=3)
    first = _plan(events.order_by("-occurred_at", "-id")[: PAGE_SIZE + 1])
    deep = _plan(
        events.filter(Q(occurred_at__lt=at) | Q(occurred_at=at, id__lt=10**6), occurred_at__lte=at).order_by(
            "-occurred_at", "-id"
        )[: PAGE_SIZE + 1]
    )

    for plan in (first, deep):
        assert "on usage_event_202605 " in plan, plan  # May's partition only: the others are pruned
        assert "usage_event_202604" not in plan and "usage_event_default" not in plan, plan
        assert "Index Scan" in plan and "usage_event_202605_customer_id_occurred_at_idx" in plan, plan
        assert "Seq Scan" not in plan, plan


@pytest.mark.postgres
def test_staff_reading_every_customer_by_time_use_the_brin_index(a_month_of_events):
    query = RequestLogQuery(start=AT - DAY, end=AT + DAY, customers=None)

    plan = _plan(request_log_events(query).order_by("-occurred_at", "-id")[: PAGE_SIZE + 1])

    assert "Bitmap Index Scan on usage_event_202605_occurred_at_idx" in plan, plan  # the BRIN index
    assert "Seq Scan" not in plan and "customer_id" not in plan, plan
