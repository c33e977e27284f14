"""No CSV the product writes starts a spreadsheet formula, and every CSV goes through one writer.

The walk finds CSV endpoints and commands by what their code calls (``common.csv_export``), so a new
export that is not listed in COVERED below fails the test until it is seeded and checked here too.
"""

import csv
import datetime as dt
import inspect
import io
import re
import types
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command, get_commands, load_command_class
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from accounts.models import MemberRole, StaffRole
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind
from billing.ledger.services import credit, debit, transaction_post
from billing.payments.models import RedemptionCode
from billing.payments.redemption import redemption_batch_create
from billing.statements.exports import EXPORT_KINDS
from billing.upstream.bills import vendor_bill_record
from billing.upstream.mismatch.services import mismatch_scan
from billing.upstream.models import (
    MismatchFlag,
    ReconciliationLine,
    ReconciliationRun,
    ReconClass,
    VendorBill,
)
from billing.usage.models import UsageBatch, UsageDaily, UsageEvent
from catalog.models import BookKind, PlanRule
from catalog.services.contracts import channel_create, contract_create
from common import csv_export
from tests.billing.documents.helpers import credit_note, invoice, payment
from tests.billing.factories import staff
from tests.billing.invoicing.factories import issued_invoice
from tests.catalog.factories import (
    AIModelFactory,
    PriceBookFactory,
    SellPlanFactory,
    VendorFactory,
    add_prices,
    add_rule,
    tier,
)
from tests.factories import CustomerFactory, MembershipFactory

pytestmark = pytest.mark.django_db

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")
# A date/time written in UTC (ISO or str()); the operator's zone in the tests is Asia/Shanghai (+08:00).
UTC_INSTANT = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(\+00:00|Z)")
# Building CSV, or a response declared text/csv, outside common.csv_export.
WRITES_CSV = re.compile(r"csv\.(writer|DictWriter)\b|content_type\s*=\s*[\"']text/csv|Response\(.*text/csv")
OUR_APPS = {"accounts", "billing", "catalog", "distributor"}
OCTOBER = {"period": "month", "month": "2026-10"}
CHAIN_OCTOBER = {"period": "2026-10", "currency": "CNY"}

# Every CSV endpoint: url name → (who fetches it, how to build its URL from the seeded data).
COVERED = {
    "catalog-plan-detail": ("admin", lambda s: reverse("catalog-plan-detail", args=[s["plan"].pk]), {}),
    "catalog-customer-prices": ("admin", lambda s: reverse("catalog-customer-prices"), {"customer": "acme"}),
    "portal-prices": ("owner", lambda s: reverse("portal-prices"), {}),
    "staff-journal": ("finance", lambda s: reverse("staff-journal"), {"export": "csv"}),
    "staff-trial-balance": ("finance", lambda s: reverse("staff-trial-balance"), {"export": "csv"}),
    "portal-book-journal": ("seller", lambda s: reverse("portal-book-journal"), {"export": "csv"}),
    "portal-book-trial-balance": (
        "seller",
        lambda s: reverse("portal-book-trial-balance"),
        {"export": "csv"},
    ),
    "staff-redemption-batch-csv": (
        "finance",
        lambda s: reverse("staff-redemption-batch-csv", args=[s["batch"].pk]),
        {},
    ),
    "portal-seller-code-export": (
        "seller",
        lambda s: reverse("portal-seller-code-export", args=[s["seller_batch"].pk]),
        {},
    ),
    "staff-chain-report": ("finance", lambda s: reverse("staff-chain-report"), CHAIN_OCTOBER),
    "portal-chain-report": ("seller", lambda s: reverse("portal-chain-report"), CHAIN_OCTOBER),
    "staff-chain-hop": (
        "finance",
        lambda s: reverse("staff-chain-hop", args=[s["reseller"].pk]),
        CHAIN_OCTOBER,
    ),
    "portal-chain-hop": ("seller", lambda s: reverse("portal-chain-hop", args=[s["sub"].pk]), CHAIN_OCTOBER),
    "staff-statement": ("finance", lambda s: reverse("staff-statement"), {"customer": "acme", **OCTOBER}),
    "portal-statement": ("owner", lambda s: reverse("portal-statement"), OCTOBER),
    "staff-upstream-margin": (
        "finance",
        lambda s: reverse("staff-upstream-margin"),
        {"period": "2026-10", "dimension": "customer"},
    ),
    "upstream-ledger": ("finance", lambda s: reverse("upstream-ledger"), {"format": "csv"}),
    "upstream-bills": ("finance", lambda s: reverse("upstream-bills"), {"format": "csv"}),
    "upstream-recon-run-csv": (
        "finance",
        lambda s: reverse("upstream-recon-run-csv", args=[s["recon_run"].pk]),
        {},
    ),
    "upstream-mismatch-flag-pack": (
        "finance",
        lambda s: reverse("upstream-mismatch-flag-pack", args=[s["mismatch_flag"].pk]),
        {"format": "csv"},
    ),
    "upstream-mismatch-pack": (
        "finance",
        lambda s: reverse("upstream-mismatch-pack"),
        {"channel": "CHANNEL", "month": "2026-10", "fmt": "csv"},
    ),
    "staff-invoice-lines-csv": (
        "finance",
        lambda s: reverse("staff-invoice-lines-csv", args=[s["invoice"].pk]),
        {},
    ),
    "portal-invoice-lines-csv": (
        "owner",
        lambda s: reverse("portal-invoice-lines-csv", args=[s["invoice"].pk]),
        {},
    ),
    "exposure-aging-csv": ("finance", lambda s: reverse("exposure-aging-csv"), {}),
    "portal-seller-aging-csv": ("seller", lambda s: reverse("portal-seller-aging-csv"), {}),
    "exposure-risk-csv": ("finance", lambda s: reverse("exposure-risk-csv"), {}),
    "exposure-forecast": ("finance", lambda s: reverse("exposure-forecast"), {"format": "csv"}),
    "staff-request-log-csv": (
        "finance",
        lambda s: reverse("staff-request-log-csv"),
        {"start": "2026-10-15T00:00", "end": "2026-10-16T00:00"},
    ),
    "portal-request-log-csv": (
        "owner",
        lambda s: reverse("portal-request-log-csv"),
        {"start": "2026-10-15T00:00", "end": "2026-10-16T00:00"},
    ),
    "opening-import-template": (
        "finance",
        lambda s: reverse("opening-import-template", args=["receivables"]),
        {},
    ),
}
EXPORT_URLS = {f"staff-accountant-export:{kind}": kind for kind in EXPORT_KINDS}
COVERED_COMMANDS = {"statement", "chain_report"}
# Account codes and names built from the account's kind ("Receivable · CNY · <customer>"): no cell starts
# with text a user typed.
NO_FREE_TEXT = {"staff-accountant-export:trial_balance", "staff-trial-balance", "portal-book-trial-balance"}
# A fixed file (a template's header and example row): nothing from the database reaches it.
FIXED_TEXT = {"opening-import-template"}


# -- finding the CSV writers by what their code calls ------------------------------------------------


def _ours(obj) -> bool:
    return (getattr(obj, "__module__", None) or "").split(".")[0] in OUR_APPS


def _code_objects(code: types.CodeType):
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_objects(const)


def _reaches_csv_export(func, seen: set) -> bool:
    """Whether ``func`` refers, directly or through our functions it calls, to the CSV writer module."""
    func = inspect.unwrap(func)
    if func in seen or not inspect.isfunction(func):
        return False
    seen.add(func)
    names = {name for code in _code_objects(func.__code__) for name in code.co_names}
    for name in names:
        found = func.__globals__.get(name)
        if found is csv_export:
            return True
        # ``exports.statement_csv_rows``: attribute names are in co_names too.
        candidates = [getattr(found, n, None) for n in names] if inspect.ismodule(found) else [found]
        for candidate in candidates:
            if getattr(candidate, "__module__", None) == csv_export.__name__:
                return True
            if inspect.isclass(candidate) and _ours(candidate):
                methods = [m for m in vars(candidate).values() if inspect.isfunction(m)]
                if any(_reaches_csv_export(m, seen) for m in methods):
                    return True
            elif inspect.isfunction(candidate) and _ours(candidate) and _reaches_csv_export(candidate, seen):
                return True
    return False


def _url_patterns(resolver=None):
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _url_patterns(pattern)
        elif isinstance(pattern, URLPattern):
            yield pattern


def _view_functions(callback) -> list:
    view_class = getattr(callback, "view_class", None)
    if view_class is not None:
        return [m for m in vars(view_class).values() if inspect.isfunction(m)]
    return [callback]


def csv_endpoints() -> set[str]:
    found = set()
    for pattern in _url_patterns():
        if any(_reaches_csv_export(f, set()) for f in _view_functions(pattern.callback)):
            found.add(pattern.name)
    return found


def csv_commands() -> set[str]:
    found = set()
    for name, app in get_commands().items():
        if app.split(".")[0] not in OUR_APPS:
            continue
        command = type(load_command_class(app, name))
        if any(_reaches_csv_export(m, set()) for m in vars(command).values() if inspect.isfunction(m)):
            found.add(name)
    return found


# -- data whose every user-typed text starts with a formula character ---------------------------------


@pytest.fixture
def seeded():
    """A customer, catalog and books whose names, references and memos all start a formula."""
    acme = CustomerFactory(name='=HYPERLINK("http://evil.example","m")', code="-acme")
    vendor = VendorFactory(name="+Vendor cmd|' /C calc'!A0", slug="evil-vendor")
    model = AIModelFactory(name='=HYPERLINK("http://evil.example","m")', vendor=vendor)
    listing = PriceBookFactory(name="@list", kind=BookKind.LIST, currency="CNY")
    add_prices(listing, model, tier(0, None, input="6", output="24"))
    plan = SellPlanFactory(name="=plan", currency="CNY", is_default=True)
    add_rule(plan, PlanRule.Method.LIST_DISCOUNT, discount=Decimal("0.1"))

    first = invoice(acme, "1000.00", dt.date(2026, 10, 5))
    payment(acme, "600.00", dt.date(2026, 10, 12), [(first, "600.00")], reference="@SUM(1+1)")
    credit_note(first, "100.00", dt.date(2026, 10, 20), reason="\t=1+1")
    receivable = account_get(kind=AccountKind.RECEIVABLE, currency="CNY", customer=acme)
    other = account_get(kind=AccountKind.REVENUE_SERVICES, currency="CNY")
    transaction_post(
        idempotency_key="csv-injection-adjustment",
        kind="manual.adjustment",
        lines=[debit(receivable, Decimal("5"), "CNY"), credit(other, Decimal("5"), "CNY")],
        memo="\r-2+3",
        source="+source",
        effective_date=dt.date(2026, 10, 25),
    )

    # A resale sub-distributor's own book, read in its portal.
    reseller = CustomerFactory(name="=reseller", code="-reseller", kind="sub_distributor")
    shop = CustomerFactory(name="@shop", code="-shop", parent=reseller)
    transaction_post(
        idempotency_key="csv-injection-reseller-sale",
        kind="manual.adjustment",
        lines=[
            debit(
                account_get(kind=AccountKind.RECEIVABLE, currency="CNY", customer=shop), Decimal("7"), "CNY"
            ),
            credit(
                account_get(kind=AccountKind.REVENUE_SERVICES, currency="CNY", book=reseller),
                Decimal("7"),
                "CNY",
            ),
        ],
        memo="=1+1",
        source="-source",
        effective_date=dt.date(2026, 10, 26),
    )

    # October usage: the reseller's purchase for its subtree (the operator's hop) and its shop's (its own).
    for buyer, sell, cost in ((reseller, "9.00", "7.00"), (shop, "11.00", "9.00")):
        UsageDaily.objects.create(
            customer=buyer,
            model=model,
            day=dt.date(2026, 10, 15),
            sell_currency="CNY",
            cost_currency="CNY",
            requests=3,
            prompt_tokens=1000,
            completion_tokens=500,
            sell_amount=Decimal(sell),
            cost_amount=Decimal(cost),
        )
    # The same month per end customer (the hops' split): the shop's request on the operator's hop to the
    # reseller (a derived row), and the own request of a reseller below the reseller, on the reseller's hop.
    sub = CustomerFactory(name="=sub", code="-sub", kind="sub_distributor", parent=reseller)
    batch = UsageBatch.objects.create(idempotency_key="csv-injection-usage", request_hash="")
    for n, (buyer, hop, end_customer) in enumerate(((reseller, 1, shop), (sub, 0, None))):
        UsageEvent.objects.create(
            batch=batch,
            request_id=f"csv-{n}",
            occurred_at=dt.datetime(2026, 10, 15, 4, tzinfo=dt.UTC),
            customer=buyer,
            hop=hop,
            end_customer=end_customer,
            model=model,
            model_name=model.name,
            prompt_tokens=1000,
            completion_tokens=500,
            rating_state="rated",
            sell_amount=Decimal("9.00"),
            sell_currency="CNY",
            cost_amount=Decimal("7.00"),
            cost_currency="CNY",
        )

    finance = staff(StaffRole.FINANCE)
    batch = redemption_batch_create(
        user=finance,
        name="=batch",
        currency="CNY",
        value=Decimal("8.00"),
        count=2,
        expires_at=timezone.now() + dt.timedelta(days=30),
    )
    RedemptionCode.objects.filter(pk=batch.codes.first().pk).update(customer=acme, redeemed_at=timezone.now())
    users = {
        "admin": staff(StaffRole.ADMIN),
        "finance": finance,
        "owner": MembershipFactory(customer=acme, role=MemberRole.OWNER).user,
        "seller": MembershipFactory(customer=reseller, role=MemberRole.OWNER).user,
    }
    # The reseller's own codes, one redeemed by its customer, exported from its portal.
    seller_batch = redemption_batch_create(
        user=users["seller"],
        book=reseller,
        name="=codes",
        currency="CNY",
        value=Decimal("5.00"),
        count=2,
        expires_at=timezone.now() + dt.timedelta(days=30),
    )
    RedemptionCode.objects.filter(pk=seller_batch.codes.first().pk).update(
        customer=shop, redeemed_at=timezone.now()
    )
    # November, outside the period the other exports read; the shop's is open in the reseller's aging.
    invoice(shop, "30.00", dt.date(2026, 11, 6))
    lines_invoice = issued_invoice(
        acme, "50.00", issue_date=dt.date(2026, 11, 5), description="=cmd|' /C calc'!A0"
    )
    return {
        **_upstream_seed(
            acme, vendor, model, batch=UsageBatch.objects.create(idempotency_key="csv-upstream")
        ),
        "acme": acme,
        "reseller": reseller,
        "sub": sub,
        "plan": plan,
        "batch": batch,
        "seller_batch": seller_batch,
        "users": users,
        "invoice": lines_invoice,
    }


def _upstream_seed(customer, vendor, model, *, batch) -> dict:
    """A channel, a vendor invoice, a reconciliation run and a 货不对版 flag whose texts start a formula."""
    cost_book = PriceBookFactory(name="=cost", kind=BookKind.COST, currency="CNY")
    add_prices(cost_book, model, tier(0, None, input="3", output="12"))
    contract = contract_create(
        vendor=vendor, name="=contract", currency="CNY", valid_from=dt.date(2026, 1, 1), cost_book=cost_book
    )
    channel = channel_create(contract=contract, name="=chan")
    vendor_bill_record(
        channel=channel,
        number="=INV-1",
        kind=VendorBill.Kind.USAGE,
        month=dt.date(2026, 10, 1),
        amount=Decimal("12.00"),
        currency="CNY",
        issued_on=dt.date(2026, 11, 2),
    )
    day = dt.date(2026, 10, 15)
    for n in range(3):
        UsageEvent.objects.create(
            batch=batch,
            request_id=f"=1+{n}",
            occurred_at=dt.datetime(2026, 10, 15, 3, n, tzinfo=dt.UTC),
            customer=customer,
            model=model,
            model_name=model.name,
            upstream_account=channel.name,
            prompt_tokens=1000,
            completion_tokens=500,
            metadata={"response_model": "@SUM(1+1)"},
            rating_state="rated",
            sell_amount=Decimal("1.00"),
            sell_currency="CNY",
            cost_amount=Decimal("0.50"),
            cost_currency="CNY",
        )
    mismatch_scan(date_from=day, date_to=day)
    run = ReconciliationRun.objects.create(
        kind=ReconciliationRun.Kind.MANUAL,
        state=ReconciliationRun.State.DONE,
        date_from=day,
        date_to=day,
        base_currency="CNY",
    )
    ReconciliationLine.objects.create(
        run=run,
        channel=channel,
        model=model,
        model_name=model.name,
        day=day,
        klass=ReconClass.UNBILLED_USAGE,
        value=Decimal("1.5"),
        detail="@detail",
    )
    return {"channel": channel, "recon_run": run, "mismatch_flag": MismatchFlag.objects.get(channel=channel)}


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def assert_no_formula(rows: list[list[str]], where: str) -> None:
    cells = [cell for row in rows[1:] for cell in row]
    dangerous = [c for c in cells if c.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(c)]
    assert not dangerous, f"{where}: cells start a formula: {dangerous}"
    if where in FIXED_TEXT:
        return
    if where in NO_FREE_TEXT:
        # Nothing typed by a user starts a cell here; its negative amounts are still plain numbers.
        assert any(c.startswith("-") for c in cells), f"{where}: no negative amount"
        return
    # The seeded text did reach the file (neutralised), so the check above was not vacuous.
    assert any(c.startswith("'") and c[1:2] in FORMULA_STARTS for c in cells), f"{where}: nothing seeded"


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _fetch(client, url: str, query: dict) -> str:
    response = client.get(url, query)
    assert response.status_code == 200, (url, response.status_code)
    assert response["Content-Type"].startswith("text/csv"), url
    body = _body(response)
    assert not body.startswith(csv_export.BOM), f"{url}: a byte-order mark nobody asked for"
    text = body.decode()
    assert not UTC_INSTANT.search(text), f"{url}: a date/time in UTC, not the screen's zone"
    return text


def assert_excel_bom_on_request(client, seeded) -> None:
    """Every CSV endpoint, streamed or whole, starts with the UTF-8 BOM when asked (?bom=1), and the rest
    of the body is the same CSV."""
    streamed = whole = 0
    for name, (who, url, query) in COVERED.items():
        client.force_login(seeded["users"][who])
        named = {"acme": seeded["acme"].pk, "CHANNEL": seeded["channel"].pk}
        query = {"format": "csv", **{k: named.get(v, v) for k, v in query.items()}}
        response = client.get(url(seeded), {**query, "bom": "1"})
        assert response.status_code == 200, name
        body = _body(response)
        assert body.startswith(csv_export.BOM), f"{name}: no byte-order mark with ?bom=1"
        rows = _rows(body.decode("utf-8-sig"))
        assert rows and rows[0] and not rows[0][0].startswith("\ufeff"), name
        streamed, whole = streamed + response.streaming, whole + (not response.streaming)
    assert streamed and whole, "both the streamed and the whole responses were checked"


# PostgreSQL: the CSVs' full-precision amounts (SQLite, the demo database, stores decimals as REAL).
@pytest.mark.postgres
def test_no_csv_export_starts_a_formula(client, seeded, tmp_path):
    assert csv_endpoints() == set(COVERED) | {"staff-accountant-export"}, "a CSV endpoint is not covered"
    assert csv_commands() == COVERED_COMMANDS, "a command writing CSV is not covered"

    def ids(query: dict) -> dict:
        named = {"acme": seeded["acme"].pk, "CHANNEL": seeded["channel"].pk}
        return {k: named.get(v, v) for k, v in query.items()}

    for name, (who, url, query) in COVERED.items():
        client.force_login(seeded["users"][who])
        query = {"format": "csv", **ids(query)}
        assert_no_formula(_rows(_fetch(client, url(seeded), query)), name)
    client.force_login(seeded["users"]["finance"])
    for name, kind in EXPORT_URLS.items():
        url = reverse("staff-accountant-export", args=[kind])
        assert_no_formula(_rows(_fetch(client, url, OCTOBER)), name)

    assert_excel_bom_on_request(client, seeded)

    out = tmp_path / "statement.csv"
    args = ["--customer=-acme", "--from=2026-10-01", "--to=2026-10-31", "--format=csv", f"--out={out}"]
    call_command("statement", *args)
    assert_no_formula(_rows(out.read_text()), "manage.py statement --format csv")

    printed = io.StringIO()
    call_command("chain_report", "--period=2026-10", "--currency=CNY", "--format=csv", stdout=printed)
    assert_no_formula(_rows(printed.getvalue()), "manage.py chain_report --format csv")


def test_only_the_writer_module_writes_csv():
    """No module builds CSV or a text/csv response by itself: all go through common.csv_export."""
    writer = Path(csv_export.__file__).resolve()
    offenders = []
    for app in OUR_APPS:
        for path in (Path(settings.BASE_DIR) / app).rglob("*.py"):
            source = path.read_text()
            if path.resolve() != writer and WRITES_CSV.search(source):
                offenders.append(str(path))
    assert not offenders
