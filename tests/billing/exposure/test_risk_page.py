"""The customer risk page: exposure against limits, concentration (top-10 share, Herfindahl index), open
flags, one book at a time; filters, sort, pages, CSV; who may read it and who may clear a flag; Chinese."""

import csv
import datetime as dt
import io
import subprocess
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Customer, StaffRole
from billing.exposure.risk import concentration, risk_rows
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind
from billing.ledger.services import credit, debit, transaction_post
from billing.terms.models import BillingTerms, RiskFlag
from catalog.models import FxRate
from tests.billing.factories import staff, topup
from tests.billing.invoicing.factories import credit_terms, issued_invoice
from tests.factories import BillingTermsFactory, CustomerFactory, MembershipFactory, SubDistributorFactory

pytestmark = pytest.mark.django_db

URL = "/reports/risk/"


def owe(customer, amount, currency="CNY"):
    """Money owed on account: Dr the customer's receivable / Cr revenue, in its seller's book."""
    book = customer.seller
    transaction_post(
        idempotency_key=f"owe:{customer.pk}:{amount}",
        kind="test.receivable",
        lines=[
            debit(
                account_get(kind=AccountKind.RECEIVABLE, currency=currency, customer=customer),
                amount,
                currency,
            ),
            credit(
                account_get(kind=AccountKind.REVENUE_SERVICES, currency=currency, book=book), amount, currency
            ),
        ],
    )


def credit_customer(name, *, limit="0", currency="CNY", parent=None, policy="warn"):
    customer = CustomerFactory(name=name, code=name.lower(), parent=parent)
    credit_terms(customer, currency=currency, credit_limit=Decimal(limit), credit_policy=policy)
    return customer


@pytest.fixture
def book():
    """The operator's book: Alpha 900/1000 CNY, Bravo 300 owed − 100 deposit (no limit), Charlie 100 USD at
    7 = 700 CNY, Delta 50 EUR (no rate), the reseller Shop 200/150 CNY; a prepaid customer is left out.
    Shop's own book: Echo 200/150 CNY and Foxtrot 50 CNY (no limit), which Shop bills itself."""
    FxRate.objects.create(base="USD", quote="CNY", date=timezone.localdate() - dt.timedelta(days=3), rate=7)
    alpha = credit_customer("Alpha", limit="1000", policy="block")
    owe(alpha, Decimal("900"))
    bravo = credit_customer("Bravo")
    owe(bravo, Decimal("300"))
    topup(bravo, "100", "dep-bravo")
    charlie = credit_customer("Charlie", limit="500", currency="USD")
    owe(charlie, Decimal("100"), "USD")
    delta = credit_customer("Delta", limit="100", currency="EUR")
    owe(delta, Decimal("50"), "EUR")
    shop = SubDistributorFactory(name="Shop", code="shop", chain_mode=Customer.ChainMode.RESALE)
    credit_terms(shop, currency="CNY", credit_limit=Decimal("150"), credit_policy="warn")
    owe(shop, Decimal("200"))
    echo = credit_customer("Echo", limit="150", parent=shop)
    owe(echo, Decimal("200"))
    owe(credit_customer("Foxtrot", parent=shop), Decimal("50"))
    BillingTermsFactory(customer=CustomerFactory(name="Prepaid", code="prepaid"))
    return {"alpha": alpha, "bravo": bravo, "charlie": charlie, "delta": delta, "echo": echo, "shop": shop}


def rows_of(response):
    return [row.code for row in response.context["page_obj"]]


@pytest.mark.parametrize("role", [StaffRole.ADMIN, StaffRole.FINANCE, StaffRole.SALES, StaffRole.AUDITOR])
def test_readers_see_exposure_utilisation_headroom_and_concentration(client, book, role):
    client.force_login(staff(role))

    response = client.get(URL)

    assert response.status_code == 200
    rows = {row.code: row for row in response.context["page_obj"]}
    assert set(rows) == {"alpha", "bravo", "charlie", "delta", "shop"}  # the operator's book only
    alpha = rows["alpha"]
    assert (alpha.exposure, alpha.utilisation, alpha.headroom) == (
        Decimal("900"),
        Decimal("90"),
        Decimal("100"),
    )
    bravo = rows["bravo"]
    assert (bravo.receivables, bravo.deposits, bravo.exposure) == (
        Decimal("300"),
        Decimal("100"),
        Decimal("200"),
    )
    assert bravo.utilisation is None and bravo.headroom is None
    assert rows["charlie"].exposure_base == Decimal("700")
    assert rows["delta"].share is None
    figures = response.context["figures"]
    # 900 + 200 + 700 + 200 = 2000 CNY: shares 45, 10, 35, 10 → HHI 2025 + 100 + 1225 + 100
    assert figures.total == Decimal("2000") and figures.hhi == 3450 and figures.top_share == Decimal("100")
    assert rows["alpha"].share == Decimal("45") and rows["shop"].share == Decimal("10")
    assert figures.missing == ["EUR"] and figures.band == "high"
    assert (figures.customers, figures.over_limit) == (5, 1)  # Shop's 200 ≥ 150; Echo is not ours
    page = response.content.decode()
    assert 'data-testid="risk-book">Book: Distributor Demo Ltd.</span>' in page
    assert 'data-testid="risk-missing-rates"' in page and "no rate" in page
    assert 'id="risk-chart"' in page and "exposure-risk.js" in page and "<script>" not in page


def test_support_portal_users_and_anonymous_are_refused(client, book):
    assert client.get(URL).status_code == 302  # to the sign-in page
    client.force_login(staff(StaffRole.SUPPORT))
    assert client.get(URL).status_code == 403
    assert client.get(reverse("exposure-risk-csv")).status_code == 403
    client.force_login(MembershipFactory(customer=book["shop"]).user)
    assert client.get(URL).status_code == 403
    assert client.get(reverse("exposure-risk-csv")).status_code == 403


def test_a_resellers_book_is_read_alone_with_its_own_totals(client, book):
    """Shop's customers owe Shop, not the operator: they are neither rows nor part of the total, the
    shares, the index or the counts of the operator's book; choosing Shop's book shows them alone."""
    RiskFlag.objects.create(customer=book["echo"], kind="overdue_days", policy="warn", detail="S-1")
    client.force_login(staff(StaffRole.FINANCE))

    ours = client.get(URL)
    shops = client.get(URL, {"book": book["shop"].pk})

    assert "echo" not in rows_of(ours) and ours.context["figures"].total == Decimal("2000")
    assert (ours.context["figures"].flagged, ours.context["figures"].over_limit) == (0, 1)
    assert sorted(rows_of(shops)) == ["echo", "foxtrot"]
    figures = shops.context["figures"]
    # 200 + 50 = 250 CNY: shares 80 and 20 → HHI 6400 + 400
    assert (figures.total, figures.hhi, figures.top_share) == (Decimal("250"), 6800, Decimal("100"))
    assert (figures.customers, figures.flagged, figures.over_limit) == (2, 1, 1)
    page = shops.content.decode()
    assert 'data-testid="risk-book">Book: Shop</span>' in page and "What Shop itself owes us" in page
    assert rows_of(client.get(URL, {"book": book["shop"].pk, "flagged": "on"})) == ["echo"]


def test_filters_flagged_over_80_percent_and_policy(client, book):
    client.force_login(staff(StaffRole.FINANCE))
    RiskFlag.objects.create(customer=book["bravo"], kind="overdue_days", policy="warn", detail="INV-1")

    assert rows_of(client.get(URL, {"flagged": "on"})) == ["bravo"]
    assert sorted(rows_of(client.get(URL, {"high": "on"}))) == ["alpha", "shop"]  # 90% and 133%
    assert rows_of(client.get(URL, {"q": "CHAR"})) == ["charlie"]
    assert rows_of(client.get(URL, {"policy": "block"})) == ["alpha"]


def test_bad_filter_input_shows_the_error_and_no_rows(client, book):
    client.force_login(staff(StaffRole.FINANCE))

    response = client.get(URL, {"book": "nonsense", "o": "drop table", "page": "x"})

    assert response.status_code == 200
    assert response.context["filter"].errors["book"] and rows_of(response) == []
    # a customer that keeps no book of its own is not a book either
    not_a_book = client.get(URL, {"book": book["alpha"].pk})
    assert not_a_book.context["filter"].errors["book"] and rows_of(not_a_book) == []


def test_sorting_by_utilisation_and_share(client, book):
    client.force_login(staff(StaffRole.FINANCE))

    by_use = rows_of(client.get(URL, {"o": "-utilisation"}))
    assert by_use[:3] == ["shop", "alpha", "delta"] and set(by_use[3:]) == {"charlie", "bravo"}
    assert rows_of(client.get(URL, {"o": "-share"}))[:4] == ["alpha", "charlie", "bravo", "shop"]
    assert rows_of(client.get(URL))[0] == "alpha"  # default: largest exposure first


def test_oldest_overdue_days_are_shown(client, book):
    today = timezone.localdate()
    invoice = issued_invoice(book["alpha"], "10.00", issue_date=today - dt.timedelta(days=40))
    invoice.due_date = today - dt.timedelta(days=12)
    invoice.save(update_fields=["due_date"])
    client.force_login(staff(StaffRole.FINANCE))

    rows = {row.code: row for row in client.get(URL).context["page_obj"]}

    assert rows["alpha"].overdue_days == 12 and rows["bravo"].overdue_days is None


def test_csv_export_follows_the_filters(client, book):
    client.force_login(staff(StaffRole.AUDITOR))

    response = client.get(reverse("exposure-risk-csv"), {"o": "customer"})

    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    lines = list(
        csv.reader(
            io.StringIO(b"".join(response).decode() if response.streaming else response.content.decode())
        )
    )
    assert lines[0][:4] == ["customer", "name", "seller", "currency"]
    body = {line[0]: dict(zip(lines[0], line, strict=True)) for line in lines[1:]}
    assert set(body) == {"alpha", "bravo", "charlie", "delta", "shop"}  # Echo and Foxtrot are Shop's
    assert body["alpha"]["exposure"] == "900.00" and body["alpha"]["utilisation_percent"] == "90.00"
    assert body["bravo"]["deposits"] == "100.00" and body["bravo"]["credit_limit"] == ""
    assert body["charlie"]["exposure_CNY"] == "700.00" and body["delta"]["share_percent"] == ""
    shops = client.get(reverse("exposure-risk-csv"), {"book": book["shop"].pk, "policy": "warn"})
    lines = list(
        csv.reader(io.StringIO(b"".join(shops).decode() if shops.streaming else shops.content.decode()))
    )
    assert sorted(line[0] for line in lines[1:]) == ["echo", "foxtrot"]
    assert {line[0]: line[2] for line in lines[1:]}["echo"] == "Shop"


def test_the_page_pages_and_its_queries_do_not_grow_with_customers(client, django_assert_max_num_queries):
    for n in range(30):
        owe(credit_customer(f"C{n:02d}", limit="100"), Decimal(n + 1))
    RiskFlag.objects.create(customer=Customer.objects.get(code="c29"), kind="usage_spike", policy="warn")
    client.force_login(staff(StaffRole.FINANCE))

    with django_assert_max_num_queries(20):
        first = client.get(URL)
    assert rows_of(first)[0] == "c29" and len(rows_of(first)) == 25
    assert len(rows_of(client.get(URL, {"page": 2}))) == 5


def test_finance_clears_a_spike_flag_and_others_may_not(client, book):
    spike = RiskFlag.objects.create(
        customer=book["alpha"],
        kind="usage_spike",
        policy="block",
        measured=Decimal("9"),
        threshold=Decimal("3"),
    )
    overdue = RiskFlag.objects.create(customer=book["alpha"], kind="overdue_days", policy="block")
    clear = reverse("exposure-risk-clear", args=[spike.pk])
    for role in (StaffRole.SALES, StaffRole.AUDITOR, StaffRole.SUPPORT):
        client.force_login(staff(role))
        assert client.post(clear).status_code == 403
    spike.refresh_from_db()
    assert spike.ended_at is None

    fin = staff(StaffRole.FINANCE)
    client.force_login(fin)
    page = client.get(URL).content.decode()
    assert 'data-testid="risk-clear"' in page
    response = client.post(clear, {"next": "https://evil.example/"}, follow=True)

    assert response.redirect_chain[-1][0] == URL
    spike.refresh_from_db()
    assert spike.ended_at is not None and spike.cleared_by == fin
    response = client.post(reverse("exposure-risk-clear", args=[overdue.pk]), follow=True)
    assert "clears by itself" in response.content.decode()
    overdue.refresh_from_db()
    assert overdue.ended_at is None


def test_concentration_is_none_without_exposure():
    rows = risk_rows(today=timezone.localdate())
    figures = concentration(rows, today=timezone.localdate())
    assert (figures.total, figures.hhi, figures.top_share, figures.band) == (Decimal("0"), None, None, "")
    assert BillingTerms.objects.count() == 0


def test_the_page_in_chinese_translates_the_index_tooltip(client, book, tmp_path, settings):
    # The catalogue as committed (django.mo is compiled at release), compiled here. The tooltip holds a
    # "%", which the translate tag looks up doubled: the entry must be under that msgid.
    target = tmp_path / "zh_Hans" / "LC_MESSAGES"
    target.mkdir(parents=True)
    source = settings.BASE_DIR / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
    subprocess.run(["msgfmt", "-o", str(target / "django.mo"), str(source)], check=True)
    settings.LOCALE_PATHS = [tmp_path]
    client.force_login(staff(StaffRole.FINANCE))

    english = client.get(URL).content.decode()
    chinese = client.get(URL, {"book": book["shop"].pk}, headers={"accept-language": "zh-hans"})

    assert "(each customer’s share in %)², from near 0" in english and "%%" not in english
    page = chinese.content.decode()
    assert 'title="赫芬达尔—赫希曼指数:Σ(各客户占比的百分数)²,从接近 0(分散)' in page
    assert "Herfindahl–Hirschman" not in page and "%%" not in page
    assert (
        'data-testid="risk-book">账簿:Shop</span>' in page and "Shop 本身欠我方的款项在运营方账簿中" in page
    )
    assert "按今日汇率以 CNY 计" in page
