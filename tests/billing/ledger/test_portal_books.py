"""A resale sub-distributor reads its own book in the portal, and nothing but its own book."""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import Customer, MemberRole, StaffRole
from accounts.services import customer_create
from billing.ledger.models import LedgerAccount
from tests.billing.factories import staff
from tests.billing.ledger.books import two_books
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

BOOK_PAGES = ("portal-book-accounts", "portal-book-journal", "portal-book-trial-balance")


def _member(client, customer, role=MemberRole.OWNER):
    client.force_login(MembershipFactory(customer=customer, role=role).user)
    return client


def _csv(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_owner_sees_its_chart_of_accounts_with_balances_and_nothing_else(client):
    books = two_books()
    page = _member(client, books.s).get(reverse("portal-book-accounts")).content.decode()
    for account in books.s_accounts():
        assert f"<code>{account.code}</code>" in page
    for account in books.operator_accounts():
        assert f"<code>{account.code}</code>" not in page
    assert ">30.00<" in page and ">20.00<" in page  # revenue 30, due to its seller 20, on their normal side
    assert 'data-testid="nav-books"' in page


def test_journal_is_the_books_own_and_filters_by_date_kind_and_account(client):
    books = two_books()
    _member(client, books.s, MemberRole.BILLING)
    url = reverse("portal-book-journal")
    page = client.get(url).content.decode()
    assert f"#{books.s_sale.pk}<" in page and f"#{books.s_cost.pk}<" in page
    assert f"#{books.operator_sale.pk}<" not in page and "operator sale" not in page

    by_date = client.get(url, {"date_from": "2026-03-15"}).content.decode()
    assert f"#{books.s_cost.pk}<" in by_date and f"#{books.s_sale.pk}<" not in by_date
    by_kind = client.get(url, {"kind": "usage.credit"}).content.decode()
    assert f"#{books.s_sale.pk}<" in by_kind and f"#{books.s_cost.pk}<" not in by_kind
    due = LedgerAccount.objects.get(book=books.s, kind="due_to_seller")
    by_account = client.get(url, {"account": due.pk}).content.decode()
    assert f"#{books.s_cost.pk}<" in by_account and f"#{books.s_sale.pk}<" not in by_account


def test_journal_csv_is_the_books_own(client):
    books = two_books()
    response = _member(client, books.s).get(reverse("portal-book-journal"), {"export": "csv"})
    assert f"journal-{books.s.code}-" in response["Content-Disposition"]
    rows = _csv(response)
    assert {row["account"] for row in rows} == {a.code for a in books.s_accounts()}
    assert {row["transaction"] for row in rows} == {str(books.s_sale.pk), str(books.s_cost.pk)}


def test_trial_balance_of_its_book_sums_to_zero(client):
    books = two_books()
    _member(client, books.s)
    page = client.get(reverse("portal-book-trial-balance")).content.decode()
    assert 'data-testid="tb-debits">50.00' in page and 'data-testid="tb-credits">50.00' in page
    assert "staff-ledger-account" not in page and "/dashboard/" not in page
    rows = _csv(client.get(reverse("portal-book-trial-balance"), {"export": "csv"}))
    assert rows[-1]["account"] == "TOTAL" and Decimal(rows[-1]["balance"]) == 0
    assert {row["account"] for row in rows[:-1]} == {a.code for a in books.s_accounts()}


def test_no_parameter_reaches_another_book(client):
    books = two_books()
    other = customer_create(name="Reseller T", code="reseller-t", kind=Customer.Kind.SUB_DISTRIBUTOR)
    _member(client, other)
    url = reverse("portal-book-journal")
    operator_account = LedgerAccount.objects.get(book__isnull=True, kind="revenue_usage")
    s_account = LedgerAccount.objects.get(book=books.s, kind="revenue_usage")
    for query in (
        {"book": "operator"},
        {"book": books.s.code},
        {"account": operator_account.pk},
        {"account": s_account.pk},
        {"customer": books.shop.pk},
    ):
        rows = _csv(client.get(url, {**query, "export": "csv"}))
        assert rows == [], query
        page = client.get(url, query).content.decode()
        assert f"#{books.s_sale.pk}<" not in page and f"#{books.operator_sale.pk}<" not in page
    accounts_page = client.get(reverse("portal-book-accounts"), {"book": books.s.code}).content.decode()
    assert s_account.code not in accounts_page and operator_account.code not in accounts_page
    tb = client.get(reverse("portal-book-trial-balance"), {"book": "operator"}).content.decode()
    assert "tb-debits" not in tb  # T's book is empty whatever is asked


def test_who_is_refused(client):
    books = two_books()
    agency = customer_create(
        name="Agent A", code="agent-a", kind=Customer.Kind.SUB_DISTRIBUTOR, chain_mode="agency"
    )
    direct = customer_create(
        name="Group D", code="group-d", kind=Customer.Kind.SUB_DISTRIBUTOR, chain_mode="direct"
    )
    refused = [
        (books.shop, MemberRole.OWNER),  # S's end customer
        (books.direct, MemberRole.OWNER),  # the operator's end customer
        (agency, MemberRole.OWNER),  # an agency keeps no book: its customers are in its seller's
        (direct, MemberRole.OWNER),
        (books.s, MemberRole.VIEWER),  # S's viewer: the books are for owners and billing
    ]
    for customer, role in refused:
        client.logout()
        _member(client, customer, role)
        for name in BOOK_PAGES:
            assert client.get(reverse(name)).status_code == 403, (customer, role, name)
        assert 'data-testid="nav-books"' not in client.get(reverse("portal-home")).content.decode()
    client.logout()
    client.force_login(staff(StaffRole.FINANCE))
    assert client.get(reverse("portal-book-journal")).status_code == 403
