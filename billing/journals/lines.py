"""The rules a manual entry's lines keep, shared by the form (errors per line) and the service.

The ledger and the database refuse an unbalanced transaction too; checking here lets the page say which
lines are off and by how much before anything is proposed.
"""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _

from billing.ledger.accounts import WALLET_KINDS
from billing.ledger.models import LedgerAccount
from billing.money import currency_exponent, is_money, money_text

DEBIT, CREDIT = "debit", "credit"


@dataclass(frozen=True)
class LineInput:
    """One line as entered: ``position`` is its 1-based number on the form."""

    position: int
    account: LedgerAccount | None
    side: str
    amount: Decimal | None
    currency: str


def lines_problems(lines: list[LineInput]) -> list[tuple[int | None, str]]:
    """Return ``(position, message)`` for every problem; position None is about the entry as a whole."""
    problems: list[tuple[int | None, str]] = []
    if len(lines) < 2:
        problems.append((None, _("A journal entry needs at least two lines.")))
    totals: dict[str, dict[str, Decimal]] = defaultdict(lambda: {DEBIT: Decimal(0), CREDIT: Decimal(0)})
    positions: dict[str, list[int]] = defaultdict(list)
    for line in lines:
        problem = _line_problem(line)
        if problem:
            problems.append((line.position, problem))
            continue
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
    if line.account.kind in WALLET_KINDS:
        # Wallet accounts carry lots and floors; their adjustments go through the wallet's own page.
        return (
            _("Line %(line)s: wallet accounts are adjusted from the wallet's page, not by journal.") % where
        )
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
