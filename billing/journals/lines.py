"""The rules a manual entry's lines keep, shared by the form (errors per line) and the service.

The ledger and the database refuse an unbalanced transaction too; checking here lets the page say which
lines are off and by how much before anything is proposed.

A manual entry may not touch an account whose balance documents or services keep and another check relies
on (``KEPT_KINDS``): a customer's receivable must equal its invoices' amounts due less unallocated credit, its
unbilled receivable the credit-time usage not yet invoiced (``billing_verify``), a wallet account its lots,
an FX revaluation account the revaluations and realisations behind it. A journal line there would change the
balance with no document to show for it, and every page reading the documents would disagree with the books
without anything noticing. Everything else (cash, revenue, expenses, rounding, FX gain/loss, tax,
payables, upstream credit, the doubtful-debt allowance) is finance's to correct by hand.

An entry posts in one book (``accounts.chain``): the operator's by default, or a resale sub-distributor's
chosen on the form; every line's account must be kept in that book, as every ledger transaction's are.
"""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _

from accounts.chain import book_label
from billing.ledger.accounts import WALLET_KINDS
from billing.ledger.models import AccountKind, LedgerAccount
from billing.money import currency_exponent, is_money, money_text

DEBIT, CREDIT = "debit", "credit"
K = AccountKind
FX_KEPT_KINDS = frozenset(
    {K.FX_REVALUATION_RECEIVABLE, K.FX_REVALUATION_DEPOSITS, K.FX_REVALUATION_PAYABLE, K.FX_UNREALISED}
)
KEPT_KINDS = WALLET_KINDS | {K.RECEIVABLE, K.UNBILLED_RECEIVABLE} | FX_KEPT_KINDS


@dataclass(frozen=True)
class LineInput:
    """One line as entered: ``position`` is its 1-based number on the form."""

    position: int
    account: LedgerAccount | None
    side: str
    amount: Decimal | None
    currency: str


# ``lines_problems(book=ANY_BOOK)``: the lines may be in any one book (an approval re-checks a proposal).
ANY_BOOK = object()


def lines_problems(lines: list[LineInput], *, book=ANY_BOOK) -> list[tuple[int | None, str]]:
    """Return ``(position, message)`` for every problem; position None is about the entry as a whole.
    ``book``: the book chosen for the entry (a reseller's customer id, None for the operator's)."""
    problems: list[tuple[int | None, str]] = []
    if len(lines) < 2:
        problems.append((None, _("A journal entry needs at least two lines.")))
    problems += _book_problems(lines, book)
    totals: dict[str, dict[str, Decimal]] = defaultdict(lambda: {DEBIT: Decimal(0), CREDIT: Decimal(0)})
    positions: dict[str, list[int]] = defaultdict(list)
    for line in lines:
        problem = _line_problem(line)
        if problem:
            problems.append((line.position, problem))
            continue
        # A well-formed line on a kept account still counts towards the balance: only that line is wrong.
        kept = kept_account_problem(line.position, line.account)
        if kept:
            problems.append((line.position, kept))
        totals[line.currency][line.side] += line.amount
        positions[line.currency].append(line.position)
    for currency, sides in sorted(totals.items()):
        if sides[DEBIT] == sides[CREDIT]:
            continue
        numbers = ", ".join(str(p) for p in positions[currency])
        for position in positions[currency]:
            message = _(
                "Line %(line)s: the %(currency)s lines (%(numbers)s) do not balance: debits %(debits)s, "
                "credits %(credits)s, difference %(difference)s."
            ) % {
                "line": position,
                "currency": currency,
                "numbers": numbers,
                "debits": money_text(sides[DEBIT], currency),
                "credits": money_text(sides[CREDIT], currency),
                "difference": money_text(abs(sides[DEBIT] - sides[CREDIT]), currency),
            }
            problems.append((position, message))
    return problems


def _line_problem(line: LineInput) -> str | None:
    where = {"line": line.position}
    if line.account is None:
        return _("Line %(line)s: choose an account.") % where
    if line.currency != line.account.currency:
        return _("Line %(line)s: %(account)s is kept in %(kept)s, not %(currency)s.") % {
            **where,
            "account": line.account.code,
            "kept": line.account.currency,
            "currency": line.currency or "—",
        }
    if line.side not in (DEBIT, CREDIT):
        return _("Line %(line)s: choose debit or credit.") % where
    amount = line.amount
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        return _("Line %(line)s: enter a positive amount.") % where
    if not is_money(amount, line.currency):
        return _("Line %(line)s: %(currency)s amounts have at most %(places)s decimal places.") % {
            **where,
            "currency": line.currency,
            "places": currency_exponent(line.currency),
        }
    return None


def kept_account_problem(position: int, account: LedgerAccount) -> str | None:
    """Why a manual line may not post to ``account`` and what to use instead; None when it may."""
    where = {"line": position, "account": account.code}
    if account.kind in WALLET_KINDS:
        # Wallet accounts carry lots and floors; their adjustments go through the wallet's own page.
        return (
            _("Line %(line)s: wallet accounts are adjusted from the wallet's page, not by journal.") % where
        )
    if account.kind == K.RECEIVABLE:
        return (
            _(
                "Line %(line)s: %(account)s is a customer's receivable, kept by its invoices, payments and "
                "credit notes. Reduce or write off an invoice with a credit note, record money received as "
                "a payment (or reverse one), refund a credit balance from the customer's page."
            )
            % where
        )
    if account.kind == K.UNBILLED_RECEIVABLE:
        return (
            _(
                "Line %(line)s: %(account)s holds usage not invoiced yet, kept by rated usage and the month "
                "close. Correct a price by re-rating the usage; the close invoices it."
            )
            % where
        )
    if account.kind in FX_KEPT_KINDS:
        return (
            _(
                "Line %(line)s: %(account)s is kept by the month-end FX revaluation and the realised FX run. "
                "Book an FX correction on FX gain/loss instead."
            )
            % where
        )
    return None


def _book_problems(lines: list[LineInput], book) -> list[tuple[int | None, str]]:
    """Lines on accounts of another book than the entry's (with ``ANY_BOOK``: than the first line's)."""
    accounts = [ln for ln in lines if ln.account is not None]
    if not accounts:
        return []
    wanted = accounts[0].account.book_id if book is ANY_BOOK else book
    return [
        (
            ln.position,
            _("Line %(line)s: %(account)s is kept in %(its)s's book; this entry posts in %(book)s's.")
            % {
                "line": ln.position,
                "account": ln.account.code,
                "its": book_label(ln.account.book_id),
                "book": book_label(wanted),
            },
        )
        for ln in accounts
        if ln.account.book_id != wanted
    ]
