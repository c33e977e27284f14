"""The money vocabulary every billing package shares: stored amounts, currency minor units, line rounding.

Two kinds of amount are stored. *Money* is rounded once, to the currency's minor unit (a JPY invoice
total has no decimals, a KWD one three), and is what documents, payments and wallets show. *Ledger
amounts* keep full precision (a usage charge of 0.000325 yuan is posted as such) and are rounded to
money only where a document says so: an invoice line, a receipt.

This module is the lowest billing layer: it imports no billing package, so the ledger and everything
above it may use it. It knows nothing of Stripe; conversion to minor *integers* lives in
``billing.stripe.api``.
"""

from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import NamedTuple

from django.db import models

from common.currencies import currency_exponent

# Be extremely careful changing these: they are the column types of every money table, and a change needs
# a migration that rewrites them. Three places hold every currency's minor unit (KWD has three); amounts
# are rounded to their own currency's exponent before they are stored, so a CNY amount still has two.
MONEY_FIELD = {"max_digits": 21, "decimal_places": 3}
"""DecimalField arguments for an amount rounded to the minor unit, in major units of its currency."""

_CENT = Decimal("0.01")


class MoneyField(models.DecimalField):
    """A stored amount rounded to its currency's minor unit, in major units (MONEY_FIELD's column).

    The column keeps three places for every currency, so PostgreSQL pads CNY 1280.50 to 1280.500. Reading
    drops that padding zero: an amount whose third place is zero reads back with two places, as two-decimal
    currencies were always written and read; KWD 1.235 keeps three. Text for people or machines still goes
    through money_text / money_format, which know the currency (KWD 1.500, JPY 1235).
    """

    def __init__(self, *args, **kwargs):
        kwargs.update(MONEY_FIELD)
        super().__init__(*args, **kwargs)

    def from_db_value(self, value, expression, connection):
        if value is not None and value == value.quantize(_CENT):
            return value.quantize(_CENT)
        return value


LEDGER_DIGITS = 28
LEDGER_PLACES = 12
LEDGER_FIELD = {"max_digits": LEDGER_DIGITS, "decimal_places": LEDGER_PLACES}
"""DecimalField arguments for a full-precision amount: ledger entries, exact line and wallet amounts."""
LEDGER_QUANTUM = Decimal(1).scaleb(-LEDGER_PLACES)


@lru_cache(maxsize=256)
def minor_unit(currency: str) -> Decimal:
    """Return ``currency``'s minor unit as a quantum: Decimal('1'), ('0.01') or ('0.001')."""
    return Decimal(1).scaleb(-currency_exponent(currency))


def quantize_money(amount: Decimal, currency: str) -> Decimal:
    """Round ``amount`` to ``currency``'s minor unit, half up (the rounding card networks use)."""
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


def is_money(amount: Decimal, currency: str) -> bool:
    """Tell whether ``amount`` has no more decimals than ``currency``'s minor unit allows."""
    return amount == quantize_money(amount, currency)


def ledger_round(amount: Decimal) -> Decimal:
    """Round ``amount`` to the ledger's places, half even (usage events keep 24; the ledger 12)."""
    return amount.quantize(LEDGER_QUANTUM, rounding=ROUND_HALF_EVEN)


def money_text(amount: Decimal, currency: str) -> str:
    """A stored money amount as plain text with exactly its currency's decimals: 88.00, 1.500, 1234.

    For CSV, JSON, webhooks and messages. The column keeps three places for every currency, so ``str()`` of
    a CNY amount read back would print 88.000.
    """
    return str(quantize_money(amount, currency))


def money_format(value, currency: str = "") -> str:
    """Format ``value`` for people: 1,234.50 CNY, 1,234.500 KWD, 1,234 JPY, 0.000325 (full precision).

    At least the currency's decimals (two when no currency is given), more only where the amount has
    them, up to the ledger's places: an exact amount is never shown rounded. None and "" show as a dash.
    """
    if value is None or value == "":
        return "—"
    places = currency_exponent(currency) if currency else 2
    text = f"{Decimal(value):,.{LEDGER_PLACES}f}".rstrip("0")
    whole, _, decimals = text.partition(".")
    decimals = decimals.ljust(places, "0")
    return f"{whole}.{decimals}" if decimals else whole


class LineAmounts(NamedTuple):
    """A line's amounts: ``exact`` at ledger precision, ``amount`` and ``tax`` rounded to money."""

    exact: Decimal
    amount: Decimal
    tax: Decimal


def line_round(amount_exact: Decimal, *, tax_rate: Decimal, currency: str) -> LineAmounts:
    """Round a line once: the amount to the minor unit, then tax on the *rounded* amount, rounded once.

    Be extremely careful changing this: issued invoices were rounded by it, and a re-run close or a credit
    note must arrive at the same cents.
    """
    exact = ledger_round(amount_exact)
    unit = minor_unit(currency)
    amount = exact.quantize(unit, rounding=ROUND_HALF_UP)
    return LineAmounts(exact, amount, (amount * tax_rate).quantize(unit, rounding=ROUND_HALF_UP))


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_escape(value: str) -> str:
    """Escape ``value`` for PostgreSQL's COPY text format.

    Most values need nothing: four C-speed scans are far cheaper than ``str.translate`` with a mapping,
    which works character by character.
    """
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_COPY_ESCAPES)
    return value


def copy_field(value) -> str:
    """One field in COPY's text format: \\N for NULL, text escaped, numbers as Python prints them."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return copy_escape(value)
    return str(value)
