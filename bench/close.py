"""Period close for 10,000 credit customers × 50 models (PostgreSQL), in a throw-away database.

Creates the bench's own database on the configured server (Django's test-database machinery, as
``bench/rating.py`` does), with ``BENCH_CLOSE_CUSTOMERS`` (10,000) monthly credit customers and daily
rollups for ``BENCH_CLOSE_MODELS`` (50) models on ``BENCH_CLOSE_DAYS`` (31) days of October 2026 inserted
straight into ``usage_daily`` with one ``INSERT … SELECT generate_series`` (not through ingestion), and the
matching unbilled-receivable accrual per customer. Then it times ``close_period("2026-10")``:

- ``close_month_10k_customers_s``: wall time of the close (no PDFs; invoices issued and posted);
- ``close_invoice_lines``: invoice lines it made; ``close_invoices``: invoices.

Target (issue 6): at most 60 s on the CI machine.
"""

import os
import time
from datetime import UTC, date, datetime
from decimal import Decimal

from django.conf import settings

CUSTOMERS = int(os.environ.get("BENCH_CLOSE_CUSTOMERS", "10000"))
MODELS = int(os.environ.get("BENCH_CLOSE_MODELS", "50"))
DAYS = int(os.environ.get("BENCH_CLOSE_DAYS", "31"))


def _fixture() -> None:
    from django.db import connection, transaction

    from accounts.models import Customer
    from billing.ledger.accounts import account_get
    from billing.ledger.models import AccountKind
    from billing.ledger.services import credit, debit, transaction_post
    from billing.terms.models import BillingTerms
    from catalog.models import AIModel, BookKind, PlanRule, PriceBook, PriceEntry, PriceTier, SellPlan, Vendor

    start = datetime(2026, 1, 1, tzinfo=UTC)
    vendor = Vendor.objects.create(name="Bench Vendor", slug="bench-vendor")
    book = PriceBook.objects.create(name="bench-sell", kind=BookKind.SELL, currency="CNY")
    for i in range(MODELS):
        model = AIModel.objects.create(vendor=vendor, name=f"bench-model-{i:02d}")
        entry = PriceEntry.objects.create(book=book, model=model, effective_from=start)
        PriceTier.objects.create(
            entry=entry, lo=0, input=Decimal("0.5") * (i % 5 + 1), output=Decimal("2") * (i % 5 + 1)
        )
    plan = SellPlan.objects.create(name="bench-standard", currency="CNY", is_default=True)
    PlanRule.objects.create(
        plan=plan, method=PlanRule.Method.EXPLICIT, source_book=book, effective_from=start
    )

    Customer.objects.bulk_create(
        [Customer(name=f"Bench {i}", code=f"bench-{i}", path="/") for i in range(CUSTOMERS)], batch_size=2000
    )
    with connection.cursor() as cur:
        cur.execute("UPDATE accounts_customer SET path = '/' || id || '/' WHERE code LIKE 'bench-%%'")
    ids = list(Customer.objects.filter(code__startswith="bench-").values_list("id", flat=True))
    BillingTerms.objects.bulk_create(
        [
            BillingTerms(
                customer_id=cid,
                mode=BillingTerms.Mode.MONTHLY,
                currency="CNY",
                payment_term="net",
                payment_days=30,
                tax_rate=Decimal("0.06"),
            )
            for cid in ids
        ],
        batch_size=2000,
    )
    # Rollups: tokens vary by customer, model and day; the amount is rated from them at the book's prices
    # with a sub-cent remainder, so every line really rounds.
    with connection.cursor() as cur:
        cur.execute("SET LOCAL synchronous_commit = off")
        cur.execute(
            """
            INSERT INTO usage_daily (day, customer_id, model_id, upstream_account, sell_currency,
                cost_currency, requests, prompt_tokens, cache_read_tokens, cache_write_tokens,
                cache_write_1h_tokens, completion_tokens, reasoning_tokens, sell_amount, cost_amount)
            SELECT d::date, c.id, m.id, '', 'CNY', 'CNY',
                   10 + (c.id + m.id) %% 7,
                   100000 + ((c.id * 31 + m.id * 7 + extract(day from d)::int) %% 1000) * 997,
                   20000, 0, 0,
                   30000 + ((c.id + m.id) %% 100) * 101, 0,
                   (100000 + ((c.id * 31 + m.id * 7 + extract(day from d)::int) %% 1000) * 997) * 0.0000013
                     + 0.000000000123456789,
                   0
            FROM generate_series(%s::date, %s::date, '1 day') AS d
            CROSS JOIN (SELECT id FROM accounts_customer WHERE code LIKE 'bench-%%') AS c
            CROSS JOIN (SELECT id FROM catalog_aimodel WHERE name LIKE 'bench-model-%%') AS m
            """,
            [date(2026, 10, 1), date(2026, 10, DAYS)],
        )
        cur.execute("ANALYZE usage_daily")
        # Per customer the sum of per-model sums kept to the ledger's 12 places, as batches accrue them.
        cur.execute(
            "SELECT customer_id, sum(amount) FROM (SELECT customer_id, round(sum(sell_amount), 12) AS amount"
            " FROM usage_daily GROUP BY customer_id, model_id) AS per_model GROUP BY customer_id"
        )
        accruals = cur.fetchall()
    # The accrual usage batches would have posted (one per customer here, so unbilled starts where it
    # would and the close relieves it to zero).
    revenue = account_get(kind=AccountKind.REVENUE_USAGE, currency="CNY")
    customers = {c.pk: c for c in Customer.objects.filter(pk__in=ids)}
    with transaction.atomic():
        for cid, amount in accruals:
            unbilled = account_get(
                kind=AccountKind.UNBILLED_RECEIVABLE, currency="CNY", customer=customers[cid]
            )
            transaction_post(
                idempotency_key=f"bench-accrual:{cid}",
                kind="usage.accrual",
                lines=[debit(unbilled, amount, "CNY"), credit(revenue, amount, "CNY")],
            )


def run() -> None:
    if not settings.IS_POSTGRES:
        print("close_skipped: needs PostgreSQL (DATABASE_URL=postgres://…)")
        return
    from django.db import connection
    from django.db.models import Sum
    from django.test.utils import setup_test_environment, teardown_test_environment

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        from billing.invoicing.close.services import close_period
        from billing.invoicing.models import InvoiceLine
        from billing.ledger.models import AccountKind, LedgerAccount

        started = time.perf_counter()
        _fixture()
        setup_s = time.perf_counter() - started
        with connection.cursor() as cur:
            cur.execute("VACUUM ANALYZE usage_daily") if not connection.in_atomic_block else None
        started = time.perf_counter()
        if os.environ.get("BENCH_CLOSE_PROFILE"):
            import cProfile
            import pstats

            profile = cProfile.Profile()
            result = profile.runcall(close_period, "2026-10", issue_date=date(2026, 11, 1))
            pstats.Stats(profile).sort_stats("cumulative").print_stats(45)
        else:
            result = close_period("2026-10", issue_date=date(2026, 11, 1))
        elapsed = time.perf_counter() - started
        lines = InvoiceLine.objects.count()
        left = LedgerAccount.objects.filter(kind=AccountKind.UNBILLED_RECEIVABLE).aggregate(s=Sum("balance"))[
            "s"
        ]
        print(f"close_setup_s: {setup_s:.1f}")
        print(f"close_rollup_rows: {CUSTOMERS * MODELS * DAYS}")
        print(f"close_invoices: {len(result.invoices)}")
        print(f"close_invoice_lines: {lines}")
        print(f"close_unbilled_left: {left}")
        print(f"close_month_10k_customers_s: {elapsed:.1f}")
    finally:
        if os.environ.get("BENCH_CLOSE_KEEP"):  # keep the database to EXPLAIN the close's queries
            connection.settings_dict["NAME"] = old_name
        else:
            connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()
