"""The request log's pages on months of events (PostgreSQL), in a throw-away database.

Creates the bench's own database on the configured server (Django's test-database machinery, as
``bench/reconcile.py`` does), then inserts ``BENCH_REQUEST_LOG_EVENTS`` (1,200,000) hop-0 events over
``DAYS`` (90) days with one ``INSERT … SELECT generate_series`` (not through ingestion), with their dedupe
keys.
``CUSTOMERS`` (200) customers; one of them, the *big* customer, sends every third event, three at the same
instant (so pages break inside groups of equal timestamps). Then, timing ``RUNS`` reads of each (p95, ms):

- ``request_log_first_page_ms``: the big customer's newest page of the default range (24 hours);
- ``request_log_deep_page_ms``: its page after a cursor 30 days back in a 31-day range (where an OFFSET
  would read ~120,000 rows first);
- ``request_log_subtree_first_page_ms``: the first page over 20 customers at once (a sub-distributor);
- ``request_log_staff_first_page_ms``: staff, every customer, the default range;
- ``request_log_staff_second_page_ms``, ``request_log_staff_deep_page_ms``: staff, every customer, a 31-day
  range, the second page and the page 30 days back;
- ``request_log_request_id_ms``: one request found by its id (any date), staff and portal alike;
- ``request_log_csv_day_rows_per_s``: a day of the big customer exported as CSV lines.
"""

import os
import time
from datetime import UTC, datetime, timedelta

from django.conf import settings

EVENTS = int(os.environ.get("BENCH_REQUEST_LOG_EVENTS", "1200000"))
CUSTOMERS = 200
DAYS = 90
RUNS = 30
START = datetime(2026, 6, 1, tzinfo=UTC)
END = START + timedelta(days=DAYS)


def _fixture() -> None:
    from django.db import connection

    from accounts.models import Customer
    from billing.usage.models import GatewaySource, UsageBatch
    from billing.usage.partitions import month_add, partitions_ensure
    from catalog.models import AIModel, Vendor

    source = GatewaySource(name="bench-gw")
    source.token_set()
    source.save()
    vendor = Vendor.objects.create(name="Bench Log Vendor", slug="bench-log-vendor")
    model = AIModel.objects.create(vendor=vendor, name="bench-log-model")
    Customer.objects.bulk_create(
        [Customer(name=f"Log {i}", code=f"log-{i}", path="/") for i in range(CUSTOMERS)]
    )
    batch = UsageBatch.objects.create(source=source, idempotency_key="bench-log", request_hash="-")
    partitions_ensure(months={month_add(START.date(), m) for m in range(4)})
    with connection.cursor() as cur:
        cur.execute("UPDATE accounts_customer SET path = '/' || id || '/' WHERE code LIKE 'log-%%'")
        cur.execute("SELECT array_agg(id ORDER BY id) FROM accounts_customer WHERE code LIKE 'log-%%'")
        customers = cur.fetchone()[0]
        cur.execute("SET synchronous_commit = off")
        # Event g: every third goes to the big customer (customers[0]) in groups of three at one instant;
        # the rest round-robin over the others. Times grow with g, as a live gateway's would.
        cur.execute(
            """
            INSERT INTO usage_event (source_id, batch_id, request_id, occurred_at, gateway_key, customer_id,
                model_name, model_id, upstream_account, prompt_tokens, cache_read_tokens, cache_write_tokens,
                cache_write_1h_tokens, completion_tokens, reasoning_tokens, is_batch, succeeded,
                gateway_cost_currency, metadata, rating_state, unrated_reason, sell_plan, sell_amount,
                sell_currency, cost_amount, cost_currency, hop, ingested_at)
            SELECT %(source)s, %(batch)s, 'req-' || g,
                   %(start)s + ((g / 3)::bigint * %(seconds)s / (%(n)s / 3)) * interval '1 second',
                   'key-' || c.i, (%(customers)s::bigint[])[c.i], 'bench-log-model', %(model)s, 'acct',
                   1000 + g %% 997, (g %% 3) * 100, 0, 0, 200 + g %% 301, 0, false, true, '',
                   '{"ua": "bench"}', 'rated', '', 'bench', (1000 + g %% 997) * 0.000002, 'CNY',
                   (1000 + g %% 997) * 0.000001, 'CNY', 0, now()
            FROM generate_series(0, %(n)s - 1) AS g,
            LATERAL (SELECT CASE WHEN g %% 3 = 0 THEN 1 ELSE 2 + g %% (%(k)s - 1) END AS i) AS c
            """,
            {
                "source": source.pk,
                "batch": batch.pk,
                "start": START,
                "seconds": DAYS * 86400,
                "n": EVENTS,
                "customers": customers,
                "k": CUSTOMERS,
                "model": model.pk,
            },
        )
        cur.execute(
            "INSERT INTO usage_request_key (source_id, request_id, occurred_at) "
            "SELECT source_id, request_id, occurred_at FROM usage_event"
        )
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE usage_event")
        cur.execute("VACUUM ANALYZE usage_request_key")


def _p95_ms(read) -> float:
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        read()
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return timings[int(0.95 * (len(timings) - 1))]


def _measure() -> None:
    from accounts.models import Customer
    from billing.usage.request_log import RequestLogQuery, request_log_iter, request_log_page
    from common.csv_export import csv_lines

    ids = list(Customer.objects.filter(code__startswith="log-").order_by("pk").values_list("pk", flat=True))
    big = (ids[0],)
    now = END - timedelta(hours=1)
    day = RequestLogQuery(start=now - timedelta(hours=24), end=now, customers=big)
    month = RequestLogQuery(start=now - timedelta(days=31), end=now, customers=big)
    first = request_log_page(day)
    assert len(first.rows) == 50 and first.next_cursor is not None
    # The cursor of a page 30 days back: the row just after that instant.
    deep_at = now - timedelta(days=30)
    probe = request_log_page(RequestLogQuery(start=deep_at - timedelta(hours=1), end=deep_at, customers=big))
    deep_cursor = probe.next_cursor
    assert len(request_log_page(month, deep_cursor).rows) == 50

    print(f"request_log_events: {EVENTS}")
    print(f"request_log_first_page_ms: {_p95_ms(lambda: request_log_page(day)):.1f}")
    print(f"request_log_deep_page_ms: {_p95_ms(lambda: request_log_page(month, deep_cursor)):.1f}")
    subtree = RequestLogQuery(start=day.start, end=day.end, customers=tuple(ids[:20]))
    print(f"request_log_subtree_first_page_ms: {_p95_ms(lambda: request_log_page(subtree)):.1f}")
    staff = RequestLogQuery(start=day.start, end=day.end, customers=None)
    print(f"request_log_staff_first_page_ms: {_p95_ms(lambda: request_log_page(staff)):.1f}")
    staff_month = RequestLogQuery(start=month.start, end=month.end, customers=None)
    second = request_log_page(staff_month).next_cursor
    print(f"request_log_staff_second_page_ms: {_p95_ms(lambda: request_log_page(staff_month, second)):.1f}")
    print(
        f"request_log_staff_deep_page_ms: {_p95_ms(lambda: request_log_page(staff_month, deep_cursor)):.1f}"
    )
    wanted = f"req-{EVENTS // 7 * 3}"
    by_id = RequestLogQuery(start=day.start, end=day.end, customers=None, request_id=wanted)
    assert [r["request_id"] for r in request_log_page(by_id).rows] == [wanted]
    print(f"request_log_request_id_ms: {_p95_ms(lambda: request_log_page(by_id)):.1f}")
    export = RequestLogQuery(start=now - timedelta(days=1), end=now, customers=big)
    started = time.perf_counter()
    count = sum(1 for _line in csv_lines(r.values() for r in request_log_iter(export)))
    print(f"request_log_csv_day_rows_per_s: {count / (time.perf_counter() - started):.0f} ({count} rows)")


def _explain() -> None:
    """Print the plans of the first and deep pages (``BENCH_REQUEST_LOG_EXPLAIN=1``)."""
    from accounts.models import Customer
    from billing.usage.request_log import Cursor, RequestLogQuery, request_log_events

    big = (Customer.objects.filter(code="log-0").values_list("pk", flat=True).get(),)
    now = END - timedelta(hours=1)
    for name, query in (
        ("first", RequestLogQuery(start=now - timedelta(hours=24), end=now, customers=big)),
        ("staff", RequestLogQuery(start=now - timedelta(hours=24), end=now, customers=None)),
        ("subtree", RequestLogQuery(start=now - timedelta(hours=24), end=now, customers=(*big, big[0] + 1))),
    ):
        events = request_log_events(query).order_by("-occurred_at", "-id")[:51]
        print(f"## {name}\n{events.explain(analyze=True)}")
    at = now - timedelta(days=30)
    query = RequestLogQuery(start=now - timedelta(days=31), end=now, customers=big)
    cursor = Cursor(at, 10**9)
    from django.db.models import Q

    events = request_log_events(query).filter(
        Q(occurred_at__lt=at) | Q(occurred_at=at, id__lt=cursor.id), occurred_at__lte=at
    )
    print(f"## deep\n{events.order_by('-occurred_at', '-id')[:51].explain(analyze=True)}")


def run() -> None:
    if not settings.IS_POSTGRES:
        print("request_log_skipped: needs PostgreSQL (DATABASE_URL=postgres://…)")
        return
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        started = time.perf_counter()
        _fixture()
        print(f"request_log_setup_s: {time.perf_counter() - started:.1f}")
        _measure()
        if os.environ.get("BENCH_REQUEST_LOG_EXPLAIN"):
            _explain()
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()
