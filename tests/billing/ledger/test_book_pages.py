"""Staff ledger pages read one book at a time: the operator's by default, a resale sub-distributor's by
``?book=<code>``; each shows only its own accounts and transactions and its trial balance sums to zero."""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import Customer, StaffRole
from accounts.services import customer_create
from billing.ledger.models import LedgerAccount
from billing.ledger.selectors import books_list, trial_balance
from tests.billing.factories import staff
from tests.billing.ledger.books import two_books

pytestmark = pytest.mark.django_db


@pytest.fixture
def finance(client):
    client.force_login(staff(StaffRole.FINANCE))
    return client


def _csv(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_chart_of_accounts_shows_the_chosen_book_only(finance):
    books = two_books()
    url = reverse("staff-ledger-accounts")
    operator_page = finance.get(url).content.decode()
    s_page = finance.get(url, {"book": books.s.code}).content.decode()
    for account in books.operator_accounts():
        cell = f"<code>{account.code}</code>"
        assert cell in operator_page and cell not in s_page
    for account in books.s_accounts():
        cell = f"<code>{account.code}</code>"
        assert cell in s_page and cell not in operator_page
    assert 'data-testid="book-name">Reseller S' in s_page
    # The selector offers the operator's book and S's, S's chosen.
    assert f'<option value="{books.s.code}" selected>' in s_page


def test_journal_and_its_csv_show_the_chosen_book_only(finance):
    books = two_books()
    url = reverse("staff-journal")
    operator_page = finance.get(url).content.decode()
    s_page = finance.get(url, {"book": books.s.code}).content.decode()
    assert f"#{books.operator_sale.pk}<" in operator_page and f"#{books.s_sale.pk}<" not in operator_page
    assert f"#{books.s_sale.pk}<" in s_page and f"#{books.s_cost.pk}<" in s_page
    assert f"#{books.operator_sale.pk}<" not in s_page

    response = finance.get(url, {"book": books.s.code, "export": "csv"})
    assert f"journal-{books.s.code}-" in response["Content-Disposition"]
    rows = _csv(response)
    s_codes = {a.code for a in books.s_accounts()}
    assert {row["account"] for row in rows} == s_codes
    assert {row["transaction"] for row in rows} == {str(books.s_sale.pk), str(books.s_cost.pk)}
    operator_rows = _csv(finance.get(url, {"export": "csv"}))
    assert {row["transaction"] for row in operator_rows} == {str(books.operator_sale.pk)}


def test_journal_filters_stay_in_the_book(finance):
    books = two_books()
    rows = _csv(
        finance.get(reverse("staff-journal"), {"book": books.s.code, "kind": "usage.cost", "export": "csv"})
    )
    assert {row["transaction"] for row in rows} == {str(books.s_cost.pk)}
    # The operator's sale matches the kind filter but is in another book.
    rows = _csv(
        finance.get(reverse("staff-journal"), {"book": books.s.code, "kind": "usage", "export": "csv"})
    )
    assert str(books.operator_sale.pk) not in {row["transaction"] for row in rows}


def test_journal_of_one_customer_opens_the_book_keeping_its_accounts(finance):
    """The wallet page links ``?customer=<id>`` without a book: S's customer's entries are in S's book."""
    books = two_books()
    page = finance.get(reverse("staff-journal"), {"customer": books.shop.pk}).content.decode()
    assert 'data-testid="book-name">Reseller S' in page
    assert f"#{books.s_sale.pk}<" in page and f"#{books.s_cost.pk}<" not in page


def test_unknown_book_is_not_found(finance):
    two_books()
    end_customer = Customer.objects.get(code="shop-c")
    assert finance.get(reverse("staff-journal"), {"book": "nope"}).status_code == 404
    # An end customer keeps no book.
    assert finance.get(reverse("staff-ledger-accounts"), {"book": end_customer.code}).status_code == 404


def test_books_are_the_operators_and_each_resale_sub_distributors():
    books = two_books()
    customer_create(name="Agent A", code="agent-a", kind=Customer.Kind.SUB_DISTRIBUTOR, chain_mode="agency")
    customer_create(name="Group D", code="group-d", kind=Customer.Kind.SUB_DISTRIBUTOR, chain_mode="direct")
    assert [b.key for b in books_list()] == ["operator", books.s.code]


def test_trial_balance_per_book_sums_to_zero():
    books = two_books()
    [operator] = trial_balance(None)
    [s] = trial_balance(books.s.pk)
    assert (operator.debits, operator.credits, operator.difference) == (Decimal("100"), Decimal("100"), 0)
    assert (s.debits, s.credits, s.difference) == (Decimal("50"), Decimal("50"), 0)
    assert {line.account.book_id for line in s.lines} == {books.s.pk}
    # As of a date: only the entries effective by then (S's cost is dated the 20th).
    [early] = trial_balance(books.s.pk, as_of=books.s_sale.effective_date)
    assert (early.debits, early.credits) == (Decimal("30"), Decimal("30"))


def test_trial_balance_page_and_csv(finance):
    books = two_books()
    url = reverse("staff-trial-balance")
    page = finance.get(url, {"book": books.s.code}).content.decode()
    assert 'data-testid="tb-debits">50.00' in page and 'data-testid="tb-credits">50.00' in page
    assert "Balanced" in page
    operator_code = LedgerAccount.objects.get(book__isnull=True, kind="revenue_usage").code
    assert f'<code class="small">{operator_code}</code>' not in page
    assert f'<code class="small">{operator_code}:book={books.s.pk}</code>' in page
    rows = _csv(finance.get(url, {"book": books.s.code, "export": "csv"}))
    total = rows[-1]
    assert total["account"] == "TOTAL"
    assert (Decimal(total["debit"]), Decimal(total["credit"]), Decimal(total["balance"])) == (50, 50, 0)
    assert {row["account"] for row in rows[:-1]} == {a.code for a in books.s_accounts()}
    # The default book is the operator's; the page exists at its old URL with no parameter.
    assert 'data-testid="tb-debits">100.00' in finance.get(url).content.decode()


def test_account_and_transaction_pages_show_their_book(finance):
    books = two_books()
    account = LedgerAccount.objects.get(book=books.s, kind="due_to_seller")
    page = finance.get(reverse("staff-ledger-account", args=[account.pk])).content.decode()
    assert "Reseller S</a>" in page and f"#{books.s_cost.pk}<" in page
    page = finance.get(reverse("staff-journal-transaction", args=[books.s_sale.pk])).content.decode()
    assert 'data-testid="book-name"' in page and "Reseller S</a>" in page
    page = finance.get(reverse("staff-journal-transaction", args=[books.operator_sale.pk])).content.decode()
    assert "Reseller S" not in page


def test_ledger_pages_are_for_finance_staff(client):
    books = two_books()
    client.force_login(staff(StaffRole.SUPPORT))
    for name in ("staff-journal", "staff-ledger-accounts", "staff-trial-balance"):
        assert client.get(reverse(name), {"book": books.s.code}).status_code == 403
    account = LedgerAccount.objects.get(book=books.s, kind="due_to_seller")
    assert client.get(reverse("staff-ledger-account", args=[account.pk])).status_code == 403
