"""Reconcile a month of usage (PostgreSQL), against one bare SQL GROUP BY over the same raw rows.

Creates the bench's own database on the configured server (Django's test-database machinery, as
``bench/close.py`` does; point DATABASE_URL at e.g. ``distributor_bench_h5``), then builds June 2026 with
set-based SQL, not through ingestion: ``BENCH_EVENTS`` (10,000,000) rated events in ``usage_event`` from one
``INSERT … SELECT generate_series`` spread over ``CHANNELS`` channels (one reporting in Asia/Shanghai, the
rest in UTC), ``MODELS`` models and ``CUSTOMERS`` direct customers; their hourly rollups from the events;
and the vendors' rows from the rollups, with some days' output counted 3% higher so the run has lines to
flag. Then, in the same run:

- ``groupby_s``: one bare ``SELECT … GROUP BY upstream_account, model_id, day`` over the raw events, every
  row fetched;
- ``reconcile_month_s``: ``reconcile()`` of the month (our side from the hourly rollups, the vendors' rows,
  classification, the run and its lines stored);
- ``reconcile_vs_groupby_ratio``: the first over the second. Target (issue 18): at most 1.5.
"""

import os
import time
from datetime import UTC, date, datetime
from decimal import Decimal

from django.conf import settings

EVENTS = int(os.environ.get("BENCH_EVENTS", "10000000"))
CHANNELS = 4
MODELS = 5
CUSTOMERS = 50
JUNE = (date(2026, 6, 1), date(2026, 6, 30))
SECONDS = 30 * 86400


def _catalog() -> list[str]:
    """Models with contract prices (input i+1, cache read (i+1)/10, output 4(i+1) per million, CNY), one
    contract and the channels; return the channel names."""
    from catalog.models import AIModel, BookKind, PriceBook, PriceEntry, PriceTier, Vendor
    from catalog.services.contracts import channel_create, contract_create

    vendor = Vendor.objects.create(name="Bench Upstream", slug="bench-upstream")
    book = PriceBook.objects.create(name="bench-contract", kind=BookKind.COST, currency="CNY")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(MODELS):
        model = AIModel.objects.create(vendor=vendor, name=f"bench-recon-{i}")
        entry = PriceEntry.objects.create(book=book, model=model, effective_from=start)
        k = Decimal(i + 1)
        PriceTier.objects.create(entry=entry, lo=0, input=k, cache_read=k / 10, output=4 * k)
    contract = contract_create(
        vendor=vendor, name="bench contract", currency="CNY", valid_from=date(2026, 1, 1), cost_book=book
    )
    names = []
    for c in range(CHANNELS):
        zone = "Asia/Shanghai" if c == 0 else "UTC"
        names.append(channel_create(contract=contract, name=f"bench-ch-{c}", reporting_zone=zone).name)
    return names


def _fixture() -> None:
    from django.db import connection

    from accounts.models import Customer
    from billing.usage.models import UsageBatch
    from billing.usage.partitions import partitions_ensure

    channels = _catalog()
    Customer.objects.bulk_create(
        [Customer(name=f"Recon {i}", code=f"recon-{i}", path="/") for i in range(CUSTOMERS)]
    )
    batch = UsageBatch.objects.create(idempotency_key="bench-recon", request_hash="-")
    partitions_ensure(months={JUNE[0]})
    with connection.cursor() as cur:
        cur.execute("UPDATE accounts_customer SET path = '/' || id || '/' WHERE code LIKE 'recon-%%'")
        cur.execute("SELECT array_agg(id ORDER BY id) FROM accounts_customer WHERE code LIKE 'recon-%%'")
        customers = cur.fetchone()[0]
        cur.execute(
            "SELECT array_agg(id ORDER BY id), array_agg(name ORDER BY id) FROM catalog_aimodel "
            "WHERE name LIKE 'bench-recon-%%'"
        )
        model_ids, model_names = cur.fetchone()
        cur.execute("SET synchronous_commit = off")
        # Event g: customer g mod K, model g mod M, channel (g / M) mod C, spread evenly over the month.
        cur.execute(
            """
            INSERT INTO usage_event (batch_id, request_id, occurred_at, gateway_key, customer_id, model_name,
                model_id, upstream_account, prompt_tokens, cache_read_tokens, cache_write_tokens,
                cache_write_1h_tokens, completion_tokens, reasoning_tokens, is_batch, succeeded,
                gateway_cost_currency, metadata, rating_state, unrated_reason, sell_plan, sell_amount,
                sell_currency, cost_amount, cost_currency, hop, ingested_at)
            SELECT %(batch)s, 'r' || g,
                   %(start)s + (g::bigint * %(seconds)s / %(n)s) * interval '1 second', '',
                   (%(customers)s::bigint[])[1 + g %% %(k)s], (%(names)s::text[])[1 + g %% %(m)s],
                   (%(models)s::bigint[])[1 + g %% %(m)s], (%(channels)s::text[])[1 + (g / %(m)s) %% %(c)s],
                   t.prompt, t.cached, 0, 0, t.completion, 0, false, true, '', '{}', 'rated', '', 'bench',
                   t.cost * 1.5, 'CNY', t.cost, 'CNY', 0, now()
            FROM generate_series(0, %(n)s - 1) AS g,
            LATERAL (SELECT 1000 + g %% 997 AS prompt, (g %% 3) * 100 AS cached, 200 + g %% 301 AS completion,
                            1 + g %% %(m)s AS k) AS s,
            LATERAL (SELECT s.prompt, s.cached, s.completion,
                            s.k * ((s.prompt - s.cached) + s.cached * 0.1 + 4 * s.completion) / 1000000.0
                            AS cost) AS t
            """,
            {
                "batch": batch.pk,
                "start": datetime(2026, 6, 1, tzinfo=UTC),
                "seconds": SECONDS,
                "n": EVENTS,
                "customers": customers,
                "k": CUSTOMERS,
                "names": model_names,
                "models": model_ids,
                "m": MODELS,
                "channels": channels,
                "c": CHANNELS,
            },
        )
        cur.execute(
            """
            INSERT INTO usage_hourly (hour, customer_id, model_id, upstream_account, sell_currency,
                cost_currency, requests, prompt_tokens, cache_read_tokens, cache_write_tokens,
                cache_write_1h_tokens, completion_tokens, reasoning_tokens, sell_amount, cost_amount)
            SELECT date_trunc('hour', occurred_at), customer_id, model_id, upstream_account, sell_currency,
                   cost_currency, count(*), sum(prompt_tokens), sum(cache_read_tokens), 0, 0,
                   sum(completion_tokens), 0, sum(sell_amount), sum(cost_amount)
            FROM usage_event GROUP BY 1, 2, 3, 4, 5, 6
            """
        )
        # The vendors' rows: our figures per channel × model × day in the channel's zone, every fifth day
        # with 3% more output (and cost) than we billed.
        cur.execute(
            """
            INSERT INTO upstream_vendor_usage (channel_id, day, starts_at, ends_at, model_name, model_id,
                is_batch, vendor_key, requests, input_tokens, cache_read_tokens, cache_write_tokens,
                cache_write_1h_tokens, output_tokens, reasoning_tokens, cost, currency, has_cache_counts,
                updated_at)
            SELECT ch.id, v.day, v.day::timestamp AT TIME ZONE ch.reporting_zone,
                   (v.day + 1)::timestamp AT TIME ZONE ch.reporting_zone, m.name, m.id, false, '',
                   v.requests, v.prompt - v.cached, v.cached, 0, 0,
                   CASE WHEN extract(day from v.day)::int %% 5 = 0 THEN v.completion * 103 / 100
                        ELSE v.completion END,
                   0,
                   CASE WHEN extract(day from v.day)::int %% 5 = 0 THEN v.cost * 1.03 ELSE v.cost END,
                   'CNY', true, now()
            FROM (
                SELECT h.upstream_account, h.model_id,
                       (h.hour AT TIME ZONE c.reporting_zone)::date AS day, sum(h.requests) AS requests,
                       sum(h.prompt_tokens) AS prompt, sum(h.cache_read_tokens) AS cached,
                       sum(h.completion_tokens) AS completion, sum(h.cost_amount) AS cost
                FROM usage_hourly h JOIN catalog_channel c ON c.name = h.upstream_account
                GROUP BY 1, 2, 3
            ) AS v
            JOIN catalog_channel ch ON ch.name = v.upstream_account
            JOIN catalog_aimodel m ON m.id = v.model_id
            WHERE v.day BETWEEN %s AND %s
            """,
            list(JUNE),
        )
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE usage_event")
        cur.execute("VACUUM ANALYZE usage_hourly")
        cur.execute("VACUUM ANALYZE upstream_vendor_usage")


GROUP_BY = """
    SELECT upstream_account, model_id, (occurred_at AT TIME ZONE 'UTC')::date AS day, count(*),
           sum(prompt_tokens), sum(cache_read_tokens), sum(completion_tokens), sum(cost_amount)
    FROM usage_event
    GROUP BY upstream_account, model_id, day
"""


def run() -> None:
    if not settings.IS_POSTGRES:
        print("reconcile_skipped: needs PostgreSQL (DATABASE_URL=postgres://…)")
        return
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        from billing.upstream.reconcile.run import reconcile

        started = time.perf_counter()
        _fixture()
        print(f"reconcile_setup_s: {time.perf_counter() - started:.1f}")
        print(f"reconcile_events: {EVENTS}")
        started = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute(GROUP_BY)
            groups = len(cur.fetchall())
        groupby_s = time.perf_counter() - started
        started = time.perf_counter()
        outcome = reconcile(date_from=JUNE[0], date_to=JUNE[1], now=datetime(2026, 8, 1, tzinfo=UTC))
        reconcile_s = time.perf_counter() - started
        run_ = outcome.run
        print(f"reconcile_groups: {groups}")
        print(f"reconcile_lines: {run_.totals.get('lines')} (flagged {run_.totals.get('flagged')})")
        print(f"groupby_s: {groupby_s:.2f}")
        print(f"reconcile_month_s: {reconcile_s:.2f}")
        print(f"reconcile_vs_groupby_ratio: {reconcile_s / groupby_s:.3f}")
        if os.environ.get("BENCH_RECONCILE_PROFILE"):
            import cProfile
            import pstats

            profile = cProfile.Profile()
            profile.runcall(
                reconcile, date_from=JUNE[0], date_to=JUNE[1], now=datetime(2026, 8, 1, tzinfo=UTC)
            )
            pstats.Stats(profile).sort_stats("cumulative").print_stats(30)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()
