"""``ledger_verify`` checks each book on its own and names the book a problem is in."""

from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind, JournalEntry, JournalTransaction, LedgerAccount
from billing.ledger.services import credit, debit, transaction_post
from billing.ledger.verify import book_problems, ledger_problems
from billing.wallets.credits import wallet_credit
from billing.wallets.models import WalletLot
from tests.billing.ledger.books import two_books

pytestmark = pytest.mark.django_db


def sold_to_s(books, amount: str = "20") -> JournalTransaction:
    """The operator's side of what S owes in its book (``two_books`` posts S's only): S bought ``amount``
    at wholesale, on credit."""
    value = Decimal(amount)
    return transaction_post(
        idempotency_key=f"op-sale-to-s:{amount}",
        kind="usage.credit",
        lines=[
            debit(account_get(kind=AccountKind.RECEIVABLE, currency="CNY", customer=books.s), value, "CNY"),
            credit(account_get(kind=AccountKind.REVENUE_USAGE, currency="CNY"), value, "CNY"),
        ],
        memo="S's wholesale purchase",
    )


def test_every_book_is_checked_and_reported(capsys):
    books = two_books()
    sold_to_s(books)
    call_command("ledger_verify")
    out = capsys.readouterr().out
    assert "(operator): OK — 3 accounts, 2 transactions" in out
    assert f"book Reseller S ({books.s.code}): OK — 4 accounts, 2 transactions" in out
    assert "ledger_verify: OK — 2 book(s)" in out


def test_a_corrupted_cached_balance_in_a_sub_distributors_book_names_that_book(capsys):
    books = two_books()
    sold_to_s(books)
    account = LedgerAccount.objects.get(book=books.s, kind="due_to_seller")
    # A cached balance is not append-only (the service updates it), so corruption is possible — and caught.
    LedgerAccount.objects.filter(pk=account.pk).update(balance=Decimal("-25"))
    with pytest.raises(
        CommandError, match=rf"1 problem\(s\) found in book\(s\) Reseller S \({books.s.code}\)"
    ):
        call_command("ledger_verify")
    captured = capsys.readouterr()
    assert f"[book Reseller S ({books.s.code})] account {account.code}: cached balance -25" in captured.err
    assert "(operator): OK" in captured.out
    # One book at a time: the operator's is sound, S's is not.
    call_command("ledger_verify", "--book", "operator")
    with pytest.raises(CommandError):
        call_command("ledger_verify", "--book", books.s.code)
    assert book_problems(None) == []
    assert [p for p in book_problems(books.s.pk) if account.code in p]
    assert ledger_problems() == book_problems(books.s.pk)


def test_an_unknown_book_is_an_error():
    two_books()
    with pytest.raises(CommandError, match="no book 'shop-c'"):
        call_command("ledger_verify", "--book", "shop-c")


def test_a_wallet_lot_problem_is_reported_in_the_book_keeping_the_wallet(capsys):
    """S's customer's wallet is in S's book: its lot problems are S's, not the operator's."""
    books = two_books()
    wallet_credit(
        customer=books.shop,
        currency="CNY",
        amount=Decimal("50"),
        bucket="granted",
        idempotency_key="g1",
        source_account=account_get(kind=AccountKind.PROMOTIONAL_CREDIT, currency="CNY", book=books.s),
        kind="wallet.granted",
        memo="granted credit",
    )
    WalletLot.objects.update(remaining=Decimal("40"))
    call_command("ledger_verify", "--book", "operator")
    with pytest.raises(CommandError):
        call_command("ledger_verify", "--book", books.s.code)
    assert f"[book Reseller S ({books.s.code})] wallet lot" in capsys.readouterr().err


@pytest.mark.postgres
def test_an_entry_on_another_books_account_is_named_in_the_transactions_book():
    """PostgreSQL refuses such an entry (0034); written with its triggers off, as a restore gone wrong could,
    ``ledger_verify`` still finds it, in the book of the transaction."""
    books = two_books()
    sold_to_s(books)
    cash = account_get(kind=AccountKind.CASH_BANK, currency="CNY")  # the operator's
    revenue = LedgerAccount.objects.get(book=books.s, kind="revenue_usage")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
    txn = JournalTransaction.objects.create(
        idempotency_key="misbooked",
        request_hash="x",
        kind="manual.adjustment",
        book=books.s,
        effective_date=books.s_sale.effective_date,
    )
    for account, amount in ((cash, Decimal("5")), (revenue, Decimal("-5"))):
        balance = account.balance + amount
        JournalEntry.objects.create(
            transaction=txn, account=account, amount=amount, currency="CNY", balance_after=balance
        )
        LedgerAccount.objects.filter(pk=account.pk).update(balance=balance)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = origin")
    [problem] = book_problems(books.s.pk)
    assert problem.endswith(f"transaction #{txn.pk}: account {cash.code} is in another book")
    assert book_problems(None) == []


def test_a_resellers_book_owing_other_than_its_sellers_book_says_names_the_reseller(capsys):
    """S's book owes its seller 20 (DUE_TO_SELLER); the operator's book says S owes 15: S's net position
    there (receivable 20, less 5 of paid credit) must be what S's book owes, exactly."""
    books = two_books()
    sold_to_s(books)
    assert book_problems(books.s.pk) == []
    wallet_credit(
        customer=books.s,
        currency="CNY",
        amount=Decimal("5"),
        bucket="paid",
        idempotency_key="s-cash",
        source_account=account_get(kind=AccountKind.CASH_BANK, currency="CNY"),
        kind="wallet.topup.bank",
        memo="posted in the operator's book only: no mirror in S's",
    )
    assert book_problems(books.s.pk) == [
        "reseller reseller-s: due to its seller 20.000000000000 CNY in its book, but its seller's book says "
        "it owes 15.000000000000 (wallets less receivable and unbilled)"
    ]
    with pytest.raises(CommandError, match=r"1 problem\(s\) found in book\(s\) Reseller S"):
        call_command("ledger_verify")
    assert (
        "[book Reseller S (reseller-s)] reseller reseller-s: due to its seller 20" in capsys.readouterr().err
    )
