"""The owner's screens over a large receivables book (PostgreSQL): the AR aging report (page and API) and
the home dashboard, for ``BENCH_WC_CUSTOMERS`` (10,000) credit customers with ``BENCH_WC_ITEMS``
(500,000) open invoices.

Creates the bench's own database on the configured server (Django's test-database machinery, as
``bench/reconcile.py`` does; point DATABASE_URL at e.g. ``distributor_bench_h1``), then builds the book
with set-based SQL, not through the invoicing services: the customers and their receivable accounts, and
per invoice a posted journal transaction (Dr the customer's receivable, Cr revenue: services, with running
``balance_after``), the issued invoice pointing at it (net 30, issued over the last 200 days so that every
bucket is filled; a fifth partly paid) and the accounts' cached balances. The ledger's deferred balance
triggers are switched off for the load only (``session_replication_role``): the rows are balanced by
construction, and checking a million entries one by one would take most of the run.

Then, with an admin signed in (second factor recorded, as the tests do), ``REQUESTS`` GETs each of:

- ``aging_p95_ms``: ``/reports/aging/`` cycling through pages, sorts, a currency filter and a search;
- ``aging_api_p95_ms``: ``/api/v1/reports/aging`` (every customer's row);
- ``dashboard_p95_ms``: ``reverse("dashboard")``;

after one cold request each (``*_cold_ms``: the aging's first read of the day sums the open items in SQL;
later ones read the cached sums until a receivable moves). Live traffic posts all the time: before every
timed request (untimed) the bench posts a ledger transaction that moves no receivable, in turn a usage
accrual (Dr unbilled receivable / Cr usage revenue) and a Stripe payout (Dr cash / Cr Stripe clearing), so
the p95 is what a reader sees while usage batches and payouts are being posted. ``aging_past_cold_ms`` is
the first report of a past day (read from history: allocations, credit notes, write-offs). Target (issue
19): p95 ≤ 150 ms.
"""

import math
import os
import statistics
import time
from datetime import timedelta

from django.conf import settings

CUSTOMERS = int(os.environ.get("BENCH_WC_CUSTOMERS", "10000"))
ITEMS = int(os.environ.get("BENCH_WC_ITEMS", "500000"))
REQUESTS = int(os.environ.get("BENCH_WC_REQUESTS", "40"))
SPREAD_DAYS = 200


def _fixture() -> None:
    from django.db import connection
    from django.utils import timezone

    from accounts.models import Customer
    from billing.ledger.accounts import ACCOUNT_TYPES, account_code, account_get
    from billing.ledger.models import AccountKind, LedgerAccount
    from billing.terms.models import BillingTerms

    Customer.objects.bulk_create(
        [Customer(name=f"Aging {i:05d}", code=f"aging-{i:05d}", path="/") for i in range(CUSTOMERS)],
        batch_size=2000,
    )
    with connection.cursor() as cur:
        cur.execute("UPDATE accounts_customer SET path = '/' || id || '/' WHERE code LIKE 'aging-%%'")
    customers = list(Customer.objects.filter(code__startswith="aging-").order_by("pk"))
    BillingTerms.objects.bulk_create(
        [
            BillingTerms(customer=c, mode="monthly", currency="CNY", payment_term="net", payment_days=30)
            for c in customers
        ],
        batch_size=2000,
    )
    kind = AccountKind.RECEIVABLE
    LedgerAccount.objects.bulk_create(
        [
            LedgerAccount(
                code=account_code(kind=kind, currency="CNY", customer=c),
                kind=kind,
                type=ACCOUNT_TYPES[kind],
                currency="CNY",
                customer=c,
                balance=0,
            )
            for c in customers
        ],
        batch_size=2000,
    )
    revenue = account_get(kind=AccountKind.REVENUE_SERVICES, currency="CNY")
    today = timezone.localdate()
    with connection.cursor() as cur:
        cur.execute("SET synchronous_commit = off")
        cur.execute("SET session_replication_role = replica")
        # Invoice g: customer g mod K, issued (g mod 200) days ago, 100.00–1,096.37 CNY.
        cur.execute(
            """
            CREATE TEMP TABLE bench_items AS
            SELECT g, c.id AS customer_id, a.id AS account_id,
                   (%(today)s::date - (g %% %(spread)s)) AS issue_date,
                   round(100 + (g %% 997) + (g %% 100) / 100.0, 2) AS total
            FROM generate_series(0, %(n)s - 1) AS g
            JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM accounts_customer
                  WHERE code LIKE 'aging-%%') AS c ON c.k = g %% %(customers)s
            JOIN billing_ledger_account a ON a.customer_id = c.id AND a.kind = 'receivable'
            """,
            {"today": today, "spread": SPREAD_DAYS, "n": ITEMS, "customers": CUSTOMERS},
        )
        cur.execute(
            """
            INSERT INTO billing_ledger_transaction (idempotency_key, request_hash, kind, effective_date, memo,
                source, posted_at)
            SELECT 'bench-aging-' || g, '-', 'invoice.issue', issue_date, 'BENCH-' || g, 'bench', now()
            FROM bench_items ORDER BY g
            """
        )
        cur.execute(
            """
            INSERT INTO billing_ledger_entry (transaction_id, account_id, amount, currency, balance_after)
            SELECT t.id, e.account_id, e.amount, 'CNY',
                   sum(e.amount) OVER (PARTITION BY e.account_id ORDER BY t.id, e.amount)
            FROM bench_items i
            JOIN billing_ledger_transaction t ON t.idempotency_key = 'bench-aging-' || i.g
            CROSS JOIN LATERAL (VALUES (i.account_id, i.total), (%(revenue)s, -i.total))
                AS e(account_id, amount)
            """,
            {"revenue": revenue.pk},
        )
        # A fifth of the invoices are partly paid (a quarter of their total): the open amount differs.
        cur.execute(
            """
            INSERT INTO invoicing_invoice (period, status, series, number, currency, language,
                issue_date, due_date, subtotal, tax_amount, total, amount_paid, amount_credited,
                amount_written_off, notes, created_at, issued_at, customer_id, journal_transaction_id, kind)
            SELECT '', CASE WHEN i.g % 5 = 0 THEN 'partially_paid' ELSE 'issued' END, 'BENCH',
                   'BENCH-' || i.g, 'CNY', 'en', i.issue_date, i.issue_date + 30, i.total, 0, i.total,
                   CASE WHEN i.g % 5 = 0 THEN round(i.total / 4, 2) ELSE 0 END, 0, 0, '', now(), now(),
                   i.customer_id, t.id, 'standard'
            FROM bench_items i JOIN billing_ledger_transaction t ON t.idempotency_key = 'bench-aging-' || i.g
            """
        )
        cur.execute(
            """
            UPDATE billing_ledger_account a SET balance = s.balance
            FROM (SELECT account_id, sum(amount) AS balance FROM billing_ledger_entry GROUP BY account_id) s
            WHERE a.id = s.account_id
            """
        )
        cur.execute("SET session_replication_role = DEFAULT")
        tables = ("accounts_customer", "billing_ledger_account", "billing_ledger_transaction",
                  "billing_ledger_entry", "invoicing_invoice")  # fmt: skip
        for table in tables:
            cur.execute(f"VACUUM ANALYZE {table}")


def _admin_client():
    from allauth.account.internal.flows.login import record_authentication
    from allauth.mfa.totp.internal.auth import TOTP
    from django.http import HttpRequest
    from django.test import Client

    from accounts.models import StaffRole, User

    user = User.objects.create_user(
        email="bench-admin@example.com", password="bench-password-1", staff_role=StaffRole.ADMIN
    )
    TOTP.activate(user, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    client = Client()
    client.force_login(user)
    request = HttpRequest()
    request.session = client.session
    record_authentication(request, user, "mfa", type="totp")
    request.session.save()
    return client


def _p95(values: list[float]) -> float:
    """Nearest rank: the smallest timing at or above 95% of them."""
    ordered = sorted(values)
    return ordered[math.ceil(0.95 * len(ordered)) - 1]


def _timed(client, url: str, params: dict | None = None) -> float:
    started = time.perf_counter()
    response = client.get(url, params or {})
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise AssertionError(f"GET {url} {params}: {response.status_code}")
    return elapsed


def _live_traffic():
    """A function posting, at each call, one ledger transaction that moves no receivable (see above)."""
    from decimal import Decimal

    from accounts.models import Customer
    from billing.ledger.accounts import account_get
    from billing.ledger.models import AccountKind
    from billing.ledger.services import credit, debit, transaction_post

    customer = Customer.objects.filter(code__startswith="aging-").order_by("pk").first()
    unbilled = account_get(kind=AccountKind.UNBILLED_RECEIVABLE, currency="CNY", customer=customer)
    usage = account_get(kind=AccountKind.REVENUE_USAGE, currency="CNY")
    cash = account_get(kind=AccountKind.CASH_BANK, currency="CNY")
    stripe = account_get(kind=AccountKind.STRIPE_CLEARING, currency="CNY")
    amount = Decimal("1.234")
    postings = [
        ("usage.accrue", "Usage batch", [debit(unbilled, amount, "CNY"), credit(usage, amount, "CNY")]),
        ("stripe.payout", "Stripe payout", [debit(cash, amount, "CNY"), credit(stripe, amount, "CNY")]),
    ]
    count = 0

    def post() -> None:
        nonlocal count
        kind, memo, lines = postings[count % len(postings)]
        transaction_post(idempotency_key=f"bench-live-{count}", kind=kind, lines=lines, memo=memo)
        count += 1

    return post


def _measure(client, name: str, url: str, variants: list[dict], between) -> None:
    print(f"{name}_cold_ms: {_timed(client, url, variants[0]):.1f}", flush=True)
    timings = []
    for i in range(REQUESTS):
        between()
        timings.append(_timed(client, url, variants[i % len(variants)]))
    print(f"{name}_p50_ms: {statistics.median(timings):.1f}")
    print(f"{name}_p95_ms: {_p95(timings):.1f}", flush=True)


def run() -> None:
    if not settings.IS_POSTGRES:
        print("working_capital_skipped: needs PostgreSQL (DATABASE_URL=postgres://…)")
        return
    from django.db import connection
    from django.urls import reverse
    from django.utils import timezone

    # No setup_test_environment(): it instruments every template render so that tests can inspect
    # contexts, which would time the test harness rather than the pages ("testserver" is an allowed host
    # outside production anyway).
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        from django.core.cache import cache

        cache.clear()
        started = time.perf_counter()
        _fixture()
        print(f"working_capital_setup_s: {time.perf_counter() - started:.1f}")
        print(f"working_capital_customers: {CUSTOMERS}")
        print(f"working_capital_open_items: {ITEMS}")
        client = _admin_client()
        aging = reverse("exposure-aging")
        pages = [
            {},
            {"page": "2"},
            {"o": "-total"},
            {"o": "-d90_plus", "page": "3"},
            {"currency": "CNY", "o": "name"},
            {"q": "aging-0042"},
            {"group": "sub_distributor"},
        ]
        live = _live_traffic()
        _measure(client, "aging", aging, pages, live)
        _measure(client, "aging_api", reverse("api-reports-aging"), [{}], live)
        _measure(client, "dashboard", reverse("dashboard"), [{}], live)
        past = (timezone.localdate() - timedelta(days=30)).isoformat()
        print(f"aging_past_cold_ms: {_timed(client, aging, {'as_of': past}):.1f}")
        print(f"aging_past_warm_ms: {_timed(client, aging, {'as_of': past, 'page': '2'}):.1f}")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
