"""Usage ingestion end to end through the bulk path (PostgreSQL), against a bare COPY of the same rows.

Generates N realistic events (default 1,000,000; ``BENCH_INGEST_EVENTS``) as NDJSON on disk — a day of a
gateway's traffic from many customers (half prepaid, half on credit terms, Zipf-like sizes, each using a
handful of models through their vendors' upstream accounts, each a channel under a contract: one USD
contract priced from its own book, CNY ones from the cost book or at a discount off list, prepaid and
postpaid), 10% with cache reads, 5% batch, 1% duplicates, 0.5% unknown models — with gateway metadata
padding lines to ~1 KB, so 1M events make a ~1 GB file (``_generate`` says more, and how to get the old
month-long worst case). Then:

- ``ingest_events_per_s``: events in the file ÷ wall time of ``billing.usage.bulk.ingest.bulk_ingest``
  streaming it (validate, deduplicate, rate twice, store, roll up, post to the ledger);
- ``ingest_vs_copy_ratio``: that rate ÷ the rate of a bare ``COPY`` of the same rows (the stored columns
  as PostgreSQL dumps them) into a table with exactly ``usage_event``'s indexes;
- ``ingest_peak_rss_mb``: the peak RSS (VmHWM) of the ingesting process plus that of its forked producer
  (generation streams to disk first and is excluded by running the ingest in a child process). The sum
  counts the pages the two share after the fork twice; ``ingest_peak_pss_mb`` (sampled every 0.5 s, the
  proportional set sizes added up) is what they use together;
- ``ingest_cpu_*_s_per_100k``: CPU seconds per 100,000 events of the writing process (its writer
  threads), the producer and (when the server runs on this machine) the whole PostgreSQL server (the
  writers' backends and its background processes), and ``ingest_cpu_bound_events_per_s``:
  two cores divided by their sum — no overlap of the stages can beat it;
- ``ingest_chain_events_per_s``: the same, for a file of the same shape whose customers are end customers
  of a resale sub-distributor (operator → S → customers: two hops, so each event is rated at S's retail
  plan, at the operator's wholesale plan and at contract cost, and stored twice);
  ``BENCH_INGEST_CHAIN_EVENTS`` events (default: as many as the first file).
"""

import contextlib
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings

EVENTS = int(os.environ.get("BENCH_INGEST_EVENTS", "1000000"))
CHAIN_EVENTS = int(os.environ.get("BENCH_INGEST_CHAIN_EVENTS", str(EVENTS)))
CUSTOMERS = 120
MODELS = 40
VENDORS = 6
SPAN_HOURS = 24
SPREAD = os.environ.get("BENCH_INGEST_SPREAD", "") not in ("", "0")


def _setup() -> tuple[list[str], list[tuple[str, list[str]]]]:
    """Create (idempotently) vendors, priced models, a default plan, customers with keys; return the keys
    and, per model, its name and its vendor's upstream accounts."""
    from accounts.models import Customer
    from accounts.services import customer_create
    from billing.terms.models import BillingTerms
    from billing.usage.models import GatewayKey
    from catalog.models import AIModel, BookKind, PlanRule, PriceBook, PriceEntry, PriceTier, SellPlan, Vendor

    start = datetime(2026, 1, 1, tzinfo=UTC)
    vendors = [
        Vendor.objects.get_or_create(name=f"Bench Vendor {v}", slug=f"bench-vendor-{v}")[0]
        for v in range(VENDORS)
    ]
    books = {
        kind: PriceBook.objects.get_or_create(
            name=f"bench-{kind}", defaults={"kind": kind, "currency": "CNY"}
        )[0]
        for kind in (BookKind.COST, BookKind.SELL)
    }
    models = []
    for i in range(MODELS):
        vendor = vendors[i % VENDORS]
        model, created = AIModel.objects.get_or_create(name=f"bench-model-{i}", defaults={"vendor": vendor})
        # A vendor's models are served by that vendor's own upstream accounts (an OpenAI key cannot serve
        # Claude): two per vendor.
        models.append((model.name, [f"{model.vendor.slug}-acct-{a}" for a in range(2)]))
        if created:
            for kind, factor in ((BookKind.COST, 1), (BookKind.SELL, 2)):
                entry = PriceEntry.objects.create(book=books[kind], model=model, effective_from=start)
                PriceTier.objects.create(
                    entry=entry,
                    lo=0,
                    input=Decimal("0.5") * factor * (i % 5 + 1),
                    output=Decimal("2") * factor * (i % 5 + 1),
                    cache_read=Decimal("0.1") * factor,
                )
    plan, created = SellPlan.objects.get_or_create(name="bench-plan", defaults={"currency": "CNY"})
    if created:
        PlanRule.objects.create(
            plan=plan, method=PlanRule.Method.EXPLICIT, source_book=books[BookKind.SELL], effective_from=start
        )
    from catalog.models import PlanAssignment

    _setup_channels(vendors, books[BookKind.COST], start)
    keys = []
    for i in range(CUSTOMERS):
        code = f"bench-{i}"
        customer = Customer.objects.filter(code=code).first()
        if customer is None:
            customer = customer_create(
                name=f"Bench {i}",
                code=code,
                kind="end_customer",
                parent=None,
                language="en",
                contact_email="",
            )
            mode = BillingTerms.Mode.PREPAID if i % 2 else BillingTerms.Mode.MONTHLY
            BillingTerms.objects.create(customer=customer, mode=mode, currency="CNY")
            PlanAssignment.objects.create(customer=customer, plan=plan, effective_from=start)
            GatewayKey.objects.create(key=f"bench-key-{i}", customer=customer)
        keys.append(f"bench-key-{i}")
    return keys, models


def _setup_channels(vendors, cost_book, start: datetime) -> None:
    """Create (idempotently) a contract per vendor and a channel per upstream account, so that every
    event's cost is rated at its channel: vendor 0 on a prepaid USD contract with its own book (a tenth
    of the CNY cost), vendor 5 at 20% off a CNY list book (postpaid), the others on the CNY cost book,
    prepaid and postpaid in turn."""
    from catalog.models import (
        AIModel,
        BookKind,
        Channel,
        CostBasis,
        PriceBook,
        PriceEntry,
        PriceTier,
        Settlement,
        VendorContract,
    )
    from catalog.services.contracts import channel_create, contract_create

    def book(name: str, kind: str, currency: str, vendor, factor: Decimal) -> PriceBook:
        found, created = PriceBook.objects.get_or_create(
            name=name, defaults={"kind": kind, "currency": currency}
        )
        if created:
            for model in AIModel.objects.filter(vendor=vendor, name__startswith="bench-model-"):
                source = PriceTier.objects.get(entry__book=cost_book, entry__model=model)
                entry = PriceEntry.objects.create(book=found, model=model, effective_from=start)
                PriceTier.objects.create(
                    entry=entry,
                    lo=0,
                    input=source.input * factor,
                    output=source.output * factor,
                    cache_read=source.cache_read * factor,
                )
        return found

    for v, vendor in enumerate(vendors):
        name = f"bench-contract-{v}"
        contract = VendorContract.objects.filter(name=name).first()
        if contract is None:
            terms = {"currency": "CNY", "cost_book": cost_book}
            if v == 0:
                terms = {
                    "currency": "USD",
                    "cost_book": book("bench-cost-usd", BookKind.COST, "USD", vendor, Decimal("0.1")),
                }
            elif v == VENDORS - 1:
                terms = {
                    "currency": "CNY",
                    "cost_basis": CostBasis.LIST_DISCOUNT,
                    "list_book": book("bench-list", BookKind.LIST, "CNY", vendor, Decimal("1.5")),
                    "discount": Decimal("0.2"),
                }
            settlement = Settlement.PREPAID if v % 2 == 0 else Settlement.POSTPAID
            contract = contract_create(
                vendor=vendor, name=name, valid_from=start.date(), settlement=settlement, **terms
            )
        for a in range(2):
            account = f"{vendor.slug}-acct-{a}"
            if not Channel.objects.filter(name=account).exists():
                channel_create(contract=contract, name=account)


def _setup_chain() -> list[str]:
    """Create (idempotently) a resale sub-distributor on the bench plan (its wholesale price) with
    CUSTOMERS end customers on its own retail plan (cost × 2.5, above the bench plan's 2); return their
    keys."""
    from accounts.models import Customer
    from accounts.services import customer_create
    from billing.terms.models import BillingTerms
    from billing.usage.models import GatewayKey
    from catalog.models import PlanAssignment, PlanRule, SellPlan

    start = datetime(2026, 1, 1, tzinfo=UTC)
    reseller = Customer.objects.filter(code="bench-reseller").first()
    if reseller is None:
        reseller = customer_create(
            name="Bench reseller",
            code="bench-reseller",
            kind=Customer.Kind.SUB_DISTRIBUTOR,
            chain_mode=Customer.ChainMode.RESALE,
        )
        BillingTerms.objects.create(customer=reseller, mode=BillingTerms.Mode.MONTHLY, currency="CNY")
        wholesale = SellPlan.objects.get(name="bench-plan", owner=None)
        PlanAssignment.objects.create(customer=reseller, plan=wholesale, effective_from=start)
        retail = SellPlan.objects.create(name="bench-retail", currency="CNY", owner=reseller)
        PlanRule.objects.create(
            plan=retail, method=PlanRule.Method.COST_MARKUP, markup=Decimal("1.5"), effective_from=start
        )
    retail = SellPlan.objects.get(name="bench-retail", owner=reseller)
    keys = []
    for i in range(CUSTOMERS):
        code = f"bench-chain-{i}"
        if not Customer.objects.filter(code=code).exists():
            customer = customer_create(name=f"Bench chain {i}", code=code, parent=reseller)
            mode = BillingTerms.Mode.PREPAID if i % 2 else BillingTerms.Mode.MONTHLY
            BillingTerms.objects.create(customer=customer, mode=mode, currency="CNY")
            PlanAssignment.objects.create(customer=customer, plan=retail, effective_from=start)
            GatewayKey.objects.create(key=f"bench-chain-key-{i}", customer=customer)
        keys.append(f"bench-chain-key-{i}")
    return keys


def _generate(path: str, n: int, keys: list[str], models: list[tuple[str, list[str]]]) -> None:
    """Write n events as NDJSON, streaming (constant memory).

    Shaped like a gateway's log: the n requests arrive over ``SPAN_HOURS`` (1M in a day is ~12 requests a
    second; a busy distributor's thousands a second would pack them into minutes); customers differ in
    size (Zipf-like weights) and each uses a handful of models (2–6, its favourite most), served through
    the model's vendor's upstream accounts. ``BENCH_INGEST_SPREAD=1`` instead spreads the requests over
    a month with every customer calling every model through any account — nearly every event then makes
    its own hourly and daily rollup row (the worst case for the rollups, unlike real traffic).
    """
    rng = random.Random(42)
    base = datetime(2026, 5, 1, tzinfo=UTC)
    pad = "x" * 700  # gateway metadata: user agent, tags, trace ids … as real logs carry
    run = uuid.uuid4().hex[:8]
    step = (SPAN_HOURS * 3600 / n) if not SPREAD else 2.5
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(keys))]
    favourites = [rng.sample(range(len(models)), rng.randrange(2, 7)) for _ in keys]
    accounts = [f"up-{a}" for a in range(8)]
    # Drawn in blocks: random.choices is much faster per call for many draws at once.
    block = 10_000
    with open(path, "w") as out:
        for i in range(n):
            if i % block == 0:
                customers = rng.choices(range(len(keys)), weights=weights, k=block)
            dup = i > 100 and rng.random() < 0.01
            rid = f"{run}-{rng.randrange(i) if dup else i}"
            prompt = rng.randrange(50, 20000)
            cache = rng.randrange(0, prompt) if rng.random() < 0.10 else 0
            completion = rng.randrange(1, 4000)
            if SPREAD:
                customer = rng.randrange(len(keys))
                name, upstream = models[rng.randrange(len(models))][0], rng.choice(accounts)
            else:
                customer = customers[i % block]
                mine = favourites[customer]
                name, served_by = models[mine[min(int(rng.expovariate(1.0)), len(mine) - 1)]]
                upstream = rng.choice(served_by)
            row = {
                "request_id": rid,
                "occurred_at": (base + timedelta(seconds=i * step)).isoformat(),
                "key": keys[customer],
                "model": "no-such-model" if rng.random() < 0.005 else name,
                "upstream_account": upstream,
                "prompt_tokens": prompt,
                "cache_read_tokens": cache,
                "completion_tokens": completion,
                "batch": rng.random() < 0.05,
                "metadata": {"trace": rid, "ua": pad},
            }
            out.write(json.dumps(row))
            out.write("\n")


def _bare_copy_rate(staged_path: str, rows: int) -> float:
    """Time COPY of the stored columns (the text PostgreSQL itself dumped, so no Python formatting is
    timed) into a table indexed exactly like usage_event; return rows/s."""
    from django.db import connection

    from billing.usage.bulk.sql import COLUMNS

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_copy")
        # Like with like: the same columns, defaults, identity and exactly the indexes of usage_event
        # (its primary key, batch, customer × time, unrated partial index) — no more, no fewer.
        cursor.execute("CREATE TABLE bench_copy (LIKE usage_event INCLUDING ALL)")
        cursor.execute(
            "SELECT count(*) FROM pg_indexes WHERE tablename IN ('bench_copy', 'usage_event') "
            "GROUP BY tablename ORDER BY tablename"
        )
        counts = [row[0] for row in cursor.fetchall()]
        assert len(counts) == 2 and counts[0] == counts[1], (
            f"bench_copy is not indexed like usage_event: {counts}"
        )
        started = time.perf_counter()
        with (
            open(staged_path, "rb") as handle,
            cursor.copy(f"COPY bench_copy ({', '.join(COLUMNS)}) FROM STDIN") as copy,
        ):
            while block := handle.read(1 << 20):
                copy.write(block)
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_copy")
    return rows / elapsed


def _dump_stored(path: str) -> int:
    """Write the stored rows of the last run as COPY text (the rows a bare COPY would load)."""
    from django.db import connection

    from billing.usage.bulk.sql import COLUMNS

    with connection.cursor() as cursor, open(path, "wb") as out:
        cursor.execute("SELECT max(id) FROM usage_batch")
        with cursor.copy(
            f"COPY (SELECT {', '.join(COLUMNS)} FROM usage_event WHERE source_id = "
            "(SELECT max(id) FROM usage_gateway_source)) TO STDOUT"
        ) as copy:
            for block in copy:
                out.write(block)
        cursor.execute(
            "SELECT count(*) FROM usage_event WHERE source_id = (SELECT max(id) FROM usage_gateway_source)"
        )
        return cursor.fetchone()[0]


def _peak_rss_mb() -> float:
    """The process's peak resident set (VmHWM), in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _pss_mb(pid: int | str) -> float:
    """A process's proportional set size in MB: its own pages plus its share of pages shared (e.g. after
    fork), so the PSS of two processes adds up to the memory they really use together."""
    # The process may have exited between two samples: its PSS then counts as 0.
    with contextlib.suppress(OSError), open(f"/proc/{pid}/smaps_rollup") as rollup:
        for line in rollup:
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _sampler(stop: threading.Event, peak: list[float], postgres: "_PostgresCpu | None") -> None:
    """Sample the PSS of this process and its children (the bulk producer) every 0.5 s and keep the peak;
    sample PostgreSQL's CPU as well.

    Reading smaps_rollup walks a process's page tables: every 0.2 s it cost the writer's core ~2% of the
    run. Memory is flat once the pipeline is full, so half-second samples find the same peak."""
    import multiprocessing

    while not stop.wait(0.5):
        total = _pss_mb("self") + sum(_pss_mb(child.pid) for child in multiprocessing.active_children())
        peak[0] = max(peak[0], total)
        if postgres is not None:
            postgres.sample()


def _stat(pid: int | str) -> list[str]:
    """The fields of /proc/PID/stat after the command name (state, parent, …; utime is [11])."""
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()


class _PostgresCpu:
    """CPU seconds (user + system) the PostgreSQL server uses from now on, when it runs on this machine.

    Counted per process — the postmaster and its children: the ingest's backends (two writers and the
    producer), the WAL writer, the checkpointer … — and sampled, so a backend whose connection closes
    during the run still counts, up to its last sample (the last half second of it may be missed).
    """

    def __init__(self, backend: int):
        self.postmaster = int(_stat(backend)[1])
        self.first = self._ticks()
        self.last = dict(self.first)

    def _ticks(self) -> dict[int, int]:
        ticks = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                with contextlib.suppress(OSError):
                    fields = _stat(entry)
                    if int(entry) == self.postmaster or int(fields[1]) == self.postmaster:
                        ticks[int(entry)] = int(fields[11]) + int(fields[12])
        return ticks

    def sample(self) -> None:
        self.last.update(self._ticks())

    def seconds(self) -> float:
        used = sum(ticks - self.first.get(pid, 0) for pid, ticks in self.last.items())
        return used / os.sysconf("SC_CLK_TCK")


def _ingest_child(path: str) -> None:
    """Run in a child process so the peak RSS measured is the ingest's alone."""
    from django.db import connection

    from billing.usage.files import file_ingest, records_iter
    from billing.usage.models import GatewaySource

    source = GatewaySource(name=f"bench-{uuid.uuid4().hex[:8]}")
    source.token_set()
    source.save()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    try:
        postgres = _PostgresCpu(backend)
    except OSError:  # the server runs elsewhere
        postgres = None
    own_before = resource.getrusage(resource.RUSAGE_SELF)
    stop, pss_peak = threading.Event(), [0.0]
    sampler = threading.Thread(target=_sampler, args=(stop, pss_peak, postgres), daemon=True)
    sampler.start()
    started = time.perf_counter()
    with open(path, "rb") as handle:
        result = file_ingest(source=source, records=records_iter(handle), fmt="generic", key_prefix="bench")
    elapsed = time.perf_counter() - started
    if postgres is not None:
        postgres.sample()
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    stop.set()
    sampler.join()
    rss_mb = _peak_rss_mb()
    # The bulk path parses and rates in a forked producer process: its peak counts too. (Summing the two
    # over-counts the pages they share after the fork, so the figure errs high.)
    producer_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "elapsed": elapsed,
                "rss_mb": rss_mb + producer_mb,
                "writer_rss_mb": rss_mb,
                "producer_rss_mb": producer_mb,
                "pss_mb": pss_peak[0],
                # Where the CPU goes: the writer, its forked producer, the PostgreSQL server.
                "cpu_writer_s": own.ru_utime + own.ru_stime - own_before.ru_utime - own_before.ru_stime,
                "cpu_producer_s": children.ru_utime + children.ru_stime,
                "cpu_postgres_s": None if postgres is None else postgres.seconds(),
                **result.as_dict(),
                "errors": len(result.errors),
            }
        )
    )


def _ingest_timed(path: str) -> dict:
    """Ingest the file at ``path`` in a child process (``_ingest_child``); return its report."""
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import django,os;os.environ.setdefault('DJANGO_SETTINGS_MODULE','distributor.settings');"
            f"django.setup();from bench.ingest import _ingest_child;_ingest_child({path!r})",
        ],
        capture_output=True,
        text=True,
        # Timed as it runs in production: DEBUG logs every SQL statement through a debug cursor.
        env={**os.environ, "DEBUG": "0"},
    )
    if child.returncode != 0:
        print(child.stderr[-4000:], file=sys.stderr)
        raise SystemExit(f"ingest child failed with exit code {child.returncode}")
    return json.loads(child.stdout.strip().splitlines()[-1])


def run() -> None:
    if not settings.IS_POSTGRES:
        print("ingest_skipped: needs PostgreSQL (DATABASE_URL=postgres://…)")
        return
    keys, models = _setup()
    chain_keys = _setup_chain()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "events.ndjson")
        _generate(path, EVENTS, keys, models)
        size_mb = os.path.getsize(path) / 1e6
        report = _ingest_timed(path)
        rate = EVENTS / report["elapsed"]
        staged = os.path.join(tmp, "stored.copy")
        rows = _dump_stored(staged)
        copy_rate = _bare_copy_rate(staged, rows)
        os.unlink(staged)
        os.unlink(path)
        _generate(path, CHAIN_EVENTS, chain_keys, models)
        chain = _ingest_timed(path)
    print(f"ingest_file_mb: {size_mb:.0f}")
    print(f"ingest_events: {EVENTS}")
    print(f"ingest_accepted: {report['accepted']}")
    print(f"ingest_duplicates: {report['duplicates']}")
    print(f"ingest_unrated: {report['unrated']}")
    print(f"ingest_seconds: {report['elapsed']:.1f}")
    print(f"ingest_events_per_s: {rate:.0f}")
    print(f"copy_rows_per_s: {copy_rate:.0f}")
    print(f"ingest_vs_copy_ratio: {rate / copy_rate:.2f}")
    print(f"ingest_chain_events: {CHAIN_EVENTS}")
    print(f"ingest_chain_accepted: {chain['accepted']}")
    print(f"ingest_chain_unrated: {chain['unrated']}")
    print(f"ingest_chain_seconds: {chain['elapsed']:.1f}")
    print(f"ingest_chain_events_per_s: {CHAIN_EVENTS / chain['elapsed']:.0f}")
    chain_cpu = [chain["cpu_writer_s"], chain["cpu_producer_s"], chain["cpu_postgres_s"]]
    for name, seconds in zip(("writer", "producer", "postgres"), chain_cpu, strict=True):
        if seconds is not None:
            print(f"ingest_chain_cpu_{name}_s_per_100k: {seconds * 100_000 / CHAIN_EVENTS:.2f}")
    if chain_cpu[2] is not None:
        print(f"ingest_chain_cpu_bound_events_per_s: {2 * CHAIN_EVENTS / sum(chain_cpu):.0f}")
    print(f"ingest_peak_rss_mb: {report['rss_mb']:.0f}")
    print(f"ingest_writer_rss_mb: {report['writer_rss_mb']:.0f}")
    print(f"ingest_producer_rss_mb: {report['producer_rss_mb']:.0f}")
    print(f"ingest_peak_pss_mb: {report['pss_mb']:.0f}")
    # CPU per 100,000 events in each process: with two cores the ingest can go no faster than
    # 2 cores ÷ the total CPU per event, however well the work overlaps.
    cpu = {
        "writer": report["cpu_writer_s"],
        "producer": report["cpu_producer_s"],
        "postgres": report["cpu_postgres_s"],
    }
    for name, seconds in cpu.items():
        if seconds is not None:
            print(f"ingest_cpu_{name}_s_per_100k: {seconds * 100_000 / EVENTS:.2f}")
    if cpu["postgres"] is not None:
        print(f"ingest_cpu_bound_events_per_s: {2 * EVENTS / sum(cpu.values()):.0f}")
