"""Statement PDFs: render time of one statement, and 1,000 statements zipped by two Celery workers.

Runs in a throw-away database on the configured PostgreSQL server (Django's test-database machinery, as
``bench/close.py`` does). The fixture is ``BENCH_DOCS_CUSTOMERS`` (1,000) customers, half English and half
Chinese, each with an opening balance from September and a dozen receivable movements in October 2026
(charges and payments, bulk-inserted as balanced journal transactions: statements read the ledger only).

- ``statement_build_median_ms``: median time to build one statement (queries) over ``BENCH_DOCS_SAMPLE`` (50);
- ``statement_pdf_median_ms``: median time to print one statement to PDF (WeasyPrint, fonts loaded; the first
  render of a process, which loads the CJK font, is reported separately as ``statement_pdf_first_ms``);
- ``statements_zip_1000_s``: wall time from queueing the period's export to the zip being ready, with two
  ``celery -A distributor worker -Q pdf -c 1`` processes (started and warmed before the clock starts)
  against Redis (``REDIS_URL``); ``statements_zip_mb``: the zip's size.

Targets (issue 6): statement PDF median ≤ 300 ms; 1,000 statements zipped in ≤ 5 minutes with two workers.
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

from django.conf import settings

CUSTOMERS = int(os.environ.get("BENCH_DOCS_CUSTOMERS", "1000"))
SAMPLE = int(os.environ.get("BENCH_DOCS_SAMPLE", "50"))
ROWS = 12
OCT_1, OCT_31 = date(2026, 10, 1), date(2026, 10, 31)


def _fixture() -> None:
    from accounts.models import Customer
    from billing.ledger.accounts import account_get
    from billing.ledger.models import AccountKind

    Customer.objects.bulk_create(
        [
            Customer(
                name=(f"上海算力科技有限公司 {i}" if i % 2 else f"Bench Robotics {i}"),
                code=f"docs-{i:04d}",
                path="/",
                language="zh-hans" if i % 2 else "en",
            )
            for i in range(CUSTOMERS)
        ],
        batch_size=2000,
    )
    from django.db import connection, transaction

    with connection.cursor() as cur:
        cur.execute("UPDATE accounts_customer SET path = '/' || id || '/' WHERE code LIKE 'docs-%%'")
    customers = list(Customer.objects.filter(code__startswith="docs-").order_by("id"))
    revenue = account_get(kind=AccountKind.REVENUE_SERVICES, currency="CNY")
    cash = account_get(kind=AccountKind.CASH_BANK, currency="CNY")
    receivables = [account_get(kind=AccountKind.RECEIVABLE, currency="CNY", customer=c) for c in customers]

    plan = []  # (customer index, day, amount): positive = charge, negative = payment
    for i in range(len(customers)):
        plan.append((i, date(2026, 9, 15), Decimal("1000.00") + i))
        for n in range(ROWS):
            amount = Decimal(f"{(n + 1) * 37 + i % 100}.{n:02d}")
            plan.append((i, date(2026, 10, 1 + 2 * n), amount if n % 3 else -amount))
    # Transactions and their entries in one database transaction: the balance trigger runs at commit.
    with transaction.atomic():
        _post(plan, receivables, revenue, cash)


def _post(plan, receivables, revenue, cash) -> None:
    from billing.ledger.models import JournalEntry, JournalTransaction, LedgerAccount

    txns = JournalTransaction.objects.bulk_create(
        [
            JournalTransaction(
                idempotency_key=f"bench-docs-{k}",
                request_hash="bench",
                kind="invoice.issue" if amount > 0 else "receivables.payment",
                effective_date=day,
                memo=("Usage and services" if amount > 0 else "Bank transfer received") + f" #{k}",
                source="bench",
            )
            for k, (i, day, amount) in enumerate(plan)
        ],
        batch_size=5000,
    )
    entries, balances = [], {}
    company_balance = {revenue.pk: Decimal("0"), cash.pk: Decimal("0")}
    for txn, (i, _day, amount) in zip(txns, plan, strict=True):
        receivable = receivables[i]
        balances[receivable.pk] = balances.get(receivable.pk, Decimal("0")) + amount
        other = revenue if amount > 0 else cash
        company_balance[other.pk] -= amount
        entries.append(
            JournalEntry(
                transaction=txn,
                account=receivable,
                amount=amount,
                currency="CNY",
                balance_after=balances[receivable.pk],
            )
        )
        entries.append(
            JournalEntry(
                transaction=txn,
                account=other,
                amount=-amount,
                currency="CNY",
                balance_after=company_balance[other.pk],
            )
        )
    JournalEntry.objects.bulk_create(entries, batch_size=5000)
    for pk, balance in {**balances, **company_balance}.items():
        LedgerAccount.objects.filter(pk=pk).update(balance=balance)


def _pdf_medians() -> None:
    from accounts.models import Customer
    from billing.documents.pdf import statement_pdf
    from billing.statements.build import statement_build

    sample = list(Customer.objects.filter(code__startswith="docs-").order_by("id")[:SAMPLE])
    started = time.perf_counter()
    statement_pdf(statement_build(sample[0], OCT_1, OCT_31))
    first_ms = (time.perf_counter() - started) * 1000
    build_ms, pdf_ms, pdf_cpu_ms, sizes = [], [], [], []
    for customer in sample:
        started = time.perf_counter()
        statement = statement_build(customer, OCT_1, OCT_31, strict=True)
        built = time.perf_counter()
        cpu = time.process_time()
        data = statement_pdf(statement)
        pdf_cpu_ms.append((time.process_time() - cpu) * 1000)
        build_ms.append((built - started) * 1000)
        pdf_ms.append((time.perf_counter() - built) * 1000)
        sizes.append(len(data))
        assert len(statement.sections[0].rows) == ROWS
    print(f"statement_pdf_first_ms: {first_ms:.0f}")
    print(f"statement_build_median_ms: {statistics.median(build_ms):.1f}")
    print(f"statement_pdf_median_ms: {statistics.median(pdf_ms):.0f}")
    print(f"statement_pdf_p90_ms: {sorted(pdf_ms)[int(len(pdf_ms) * 0.9)]:.0f}")
    print(f"statement_pdf_median_cpu_ms: {statistics.median(pdf_cpu_ms):.0f}")
    print(f"documents_load_avg_1m: {os.getloadavg()[0]:.1f} (cores: {os.cpu_count()})")
    print(f"statement_pdf_kb: {statistics.median(sizes) / 1024:.0f}")


def _workers(env: dict, log_dir: Path) -> list[subprocess.Popen]:
    command = [sys.executable, "-m", "celery", "-A", "distributor", "worker", "-Q", "pdf", "-c", "1"]
    procs = []
    for n in range(2):
        log = open(log_dir / f"worker{n}.log", "w")  # noqa: SIM115 - closed with the process
        procs.append(
            subprocess.Popen(
                [*command, "-n", f"bench-docs-{n}@%h", "--without-gossip", "--without-mingle", "-l", "INFO"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    return procs


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of ``pids`` and all their descendants (Linux /proc), 0 elsewhere."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total, todo, seen = 0.0, list(pids), set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{pid}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, IndexError, ValueError):
            continue
    return total


def _zip(db_name: str) -> None:
    from celery import group

    from billing.statements.models import StatementExport
    from billing.statements.tasks import statement_export_start, statement_export_warm
    from distributor.celery import app

    if not settings.REDIS_URL:
        print("statements_zip_skipped: needs Redis (REDIS_URL=redis://…) for the two workers")
        return
    media = Path(tempfile.mkdtemp(prefix="bench-docs-media-"))
    database = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{database['USER']}:{database.get('PASSWORD') or ''}"
            f"@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}/{db_name}"
        ),
        "MEDIA_ROOT": str(media),
    }
    app.control.purge()
    procs = _workers(env, media)
    try:
        # Warm both workers (Django, WeasyPrint and the CJK font loaded) before the clock starts.
        group(statement_export_warm.s() for _ in range(4)).apply_async().get(timeout=180)
        export = StatementExport.objects.create(date_from=OCT_1, date_to=OCT_31)
        cpu_before = _cpu_seconds([p.pid for p in procs])
        started = time.perf_counter()
        statement_export_start.delay(export.pk)
        deadline = started + 900
        while time.perf_counter() < deadline:
            export.refresh_from_db()
            if export.state in (StatementExport.State.DONE, StatementExport.State.FAILED):
                break
            time.sleep(0.5)
        elapsed = time.perf_counter() - started
        cpu = _cpu_seconds([p.pid for p in procs]) - cpu_before
        if export.state != StatementExport.State.DONE:
            print(f"statements_zip_failed: {export.state} {export.error!r} after {elapsed:.0f} s")
            return
        path = media / export.file.name
        import zipfile

        with zipfile.ZipFile(path) as archive:
            count = len(archive.namelist())
        print(f"statements_zip_{CUSTOMERS}_s: {elapsed:.1f}")
        print(f"statements_zip_files: {count}")
        print(f"statements_zip_mb: {path.stat().st_size / 1024 / 1024:.1f}")
        print(f"statements_zip_per_s: {count / elapsed:.1f}")
        # CPU the two workers used: divided by two, the wall time two dedicated cores would take.
        print(f"statements_zip_worker_cpu_s: {cpu:.1f}")
        print(f"statements_zip_cpu_ms_per_statement: {cpu * 1000 / max(count, 1):.0f}")
        # The machine is shared: a load average above its core count means the wall times are inflated.
        print(f"documents_load_avg_1m: {os.getloadavg()[0]:.1f} (cores: {os.cpu_count()})")
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def run() -> None:
    if not settings.IS_POSTGRES:
        print("documents_skipped: needs PostgreSQL (DATABASE_URL=postgres://…)")
        return
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    # Not the test suite's test_<name>: the bench must be able to run while tests do.
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"bench_docs_{old_name}"
    db_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        started = time.perf_counter()
        _fixture()
        print(f"documents_setup_s: {time.perf_counter() - started:.1f}")
        print(f"documents_customers: {CUSTOMERS}")
        _pdf_medians()
        _zip(db_name)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()
