"""Expected credit loss at a date by provision matrix (IFRS 9's simplified approach), measured, not posted.

Receivables open at the end of the date, by aging bucket (``billing.receivables.aging``), times the
bucket's loss rate: ECL per bucket = gross × rate ÷ 100, rounded once to the currency's minor unit, half
up; the allowance required is the sum of the buckets. The allowance held is the balance of the allowance
for doubtful debts in that currency and book at the end of the date (credit-normal, shown positive); the
change is required − held: a charge when positive, a release when negative (``ecl_post`` books it).

The rates are, in this order: the five given (``rates``: the command's ``--rates``, the API's ``rates``),
else the provision matrix in force (``EclMatrix``): the rates finance entered, or those derived from the
book's own history by the loss-rate method (``ecl_history``). The same rates apply to every currency.

Each currency is measured on its own and needs no exchange rate; posting is per currency too. The
base-currency view converts each currency's figures at the date's rate (``BaseRates``) and rounds each
once. A currency without a rate leaves the base view out (None: a sum without it would understate the
allowance) and names the pair (``missing_rates``); every currency's own figures stand. Only derived rates
need rates to be measured at all, because they pool the history in the base currency: ``DerivedRatesMissing``.
"""

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db.models import Max, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.exposure.ecl_history import (
    HUNDRED,
    RATE_QUANTUM,
    ZERO,
    Derivation,
    EclError,
    book_invoices,
    rates_derive,
)
from billing.exposure.models import EclMatrix
from billing.fx.rates import BaseRates, FxRatesMissing
from billing.ledger.models import AccountKind, JournalEntry
from billing.money import quantize_money
from billing.receivables.aging import BUCKET_KEYS, aging_totals

GIVEN = "given"
EARLIEST = date(2000, 1, 1)
RATES_COUNT = len(BUCKET_KEYS)
_RATE_TEXT = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*%?\s*$")


class EclInputError(EclError):
    """Bad input (rates, a date), with the field it came from: ``field`` names it for forms and the API."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def rate_text(rate: Decimal) -> str:
    """A rate in percent as people and JSON read it: 11, 14.285714, 100 (no trailing zeros, no exponent)."""
    text = format(rate.normalize(), "f")
    return text


def rates_check(rates, *, field: str = "rates") -> list[Decimal]:
    """Return ``rates`` as five Decimals in percent, each from 0 to 100 with at most six decimals."""
    values = list(rates)
    if len(values) != RATES_COUNT:
        raise EclInputError(
            field,
            _(
                "Give %(count)s rates in percent, for current, 1–30, 31–60, 61–90 and over 90 days; "
                "%(given)s given."
            )
            % {"count": RATES_COUNT, "given": len(values)},
        )
    out = []
    for position, value in enumerate(values, start=1):
        try:
            rate = value if isinstance(value, Decimal) else Decimal(str(value))
        except (InvalidOperation, ValueError):
            rate = None
        if rate is None or not rate.is_finite():
            raise EclInputError(field, _("Rate %(n)s is not a number.") % {"n": position})
        if rate < 0 or rate > HUNDRED:
            raise EclInputError(
                field,
                _("Rate %(n)s is %(rate)s%%: a loss rate is from 0 to 100%%.")
                % {"n": position, "rate": rate_text(rate)},
            )
        if rate.quantize(RATE_QUANTUM) != rate:
            raise EclInputError(field, _("Rate %(n)s has more than six decimals.") % {"n": position})
        out.append(rate)
    return out


def rates_parse(text: str, *, field: str = "rates") -> list[Decimal]:
    """Parse ``"11,15,25,31,100"`` (percent; a trailing % allowed) into five checked rates."""
    parts = (text or "").split(",")
    values = []
    for position, part in enumerate(parts, start=1):
        match = _RATE_TEXT.match(part)
        if match is None:
            if part.strip().startswith("-"):
                raise EclInputError(
                    field,
                    _("Rate %(n)s is %(rate)s: a loss rate is from 0 to 100%%.")
                    % {"n": position, "rate": part.strip()},
                )
            raise EclInputError(
                field,
                _("Rate %(n)s (%(text)s) is not a number in percent, such as 11 or 12.5.")
                % {"n": position, "text": part.strip() or _("empty")},
            )
        values.append(Decimal(match.group(1)))
    return rates_check(values, field=field)


def as_of_check(as_of: date, *, field: str = "as_of") -> date:
    """Refuse a date after today (the loss on receivables not yet known cannot be measured) or before
    2000 (no history reaches it)."""
    if as_of > timezone.localdate():
        raise EclInputError(field, _("%(date)s is in the future; choose today or earlier.") % {"date": as_of})
    if as_of < EARLIEST:
        raise EclInputError(field, _("Choose a date on or after %(date)s.") % {"date": EARLIEST})
    return as_of


class DerivedRatesMissing(FxRatesMissing):
    """Derived loss rates pool every currency's history in the base currency; a pair has no rate."""

    def __init__(self, pairs: set[tuple[str, str, date]]):
        self.pairs = sorted(pairs)
        Exception.__init__(
            self,
            _(
                "The loss rates are derived from history pooled in %(base)s, and there is no exchange rate "
                "on or before: %(pairs)s. Enter these exchange rates, or enter the loss rates (or give "
                "them); nothing was posted."
            )
            % {"base": settings.BASE_CURRENCY, "pairs": ", ".join(pairs_text(self.pairs))},
        )


def pairs_text(pairs) -> list[str]:
    """Missing pairs as people and JSON read them: ``JPY→CNY 2026-12-06``."""
    return [f"{currency}→{base} {on:%Y-%m-%d}" for currency, base, on in sorted(pairs)]


@dataclass(frozen=True)
class BucketEcl:
    bucket: str
    gross: Decimal
    rate: Decimal
    ecl: Decimal


@dataclass(frozen=True)
class CurrencyEcl:
    """One currency's measurement (or the base-currency view): every bucket, in bucket order."""

    currency: str
    buckets: tuple[BucketEcl, ...]
    total: Decimal
    prior_allowance: Decimal
    # The last allowance entry (id) effective by the date: what the allowance held was read from.
    allowance_marker: int = 0

    @property
    def gross_total(self) -> Decimal:
        return sum((b.gross for b in self.buckets), ZERO)

    @property
    def change(self) -> Decimal:
        return self.total - self.prior_allowance

    def buckets_json(self) -> list[dict]:
        return [
            {"bucket": b.bucket, "gross": str(b.gross), "rate": rate_text(b.rate), "ecl": str(b.ecl)}
            for b in self.buckets
        ]

    def as_json(self) -> dict:
        return {
            "buckets": self.buckets_json(),
            "total": str(self.total),
            "gross_total": str(self.gross_total),
            "prior_allowance": str(self.prior_allowance),
            "change": str(self.change),
        }


@dataclass(frozen=True)
class EclMeasure:
    as_of: date
    book_id: int | None
    method: str
    rates: tuple[Decimal, ...]
    derivation: Derivation | None
    matrix: dict
    currencies: dict[str, CurrencyEcl]
    base_currency: str
    base: CurrencyEcl | None
    missing_rates: tuple[tuple[str, str, date], ...]


@dataclass(frozen=True)
class RatesUsed:
    method: str
    rates: tuple[Decimal, ...]
    derivation: Derivation | None
    matrix: dict


def rates_used(as_of: date, *, rates=None, book_id: int | None = None) -> RatesUsed:
    """The rates to apply at ``as_of`` and how they were obtained (``matrix``: stored on each run)."""
    if rates is not None:
        checked = tuple(rates_check(rates))
        return RatesUsed(GIVEN, checked, None, {"method": GIVEN, "rates": [rate_text(r) for r in checked]})
    matrix = EclMatrix.load()
    if matrix.method == EclMatrix.Method.DERIVED:
        try:
            derivation = rates_derive(
                as_of,
                history_months=matrix.history_months,
                forward_adjustment=matrix.forward_adjustment,
                round_whole=matrix.round_whole,
                book_id=book_id,
            )
        except FxRatesMissing as exc:
            raise DerivedRatesMissing(set(exc.pairs)) from None
        described = {
            "method": matrix.method,
            "rates": [rate_text(r) for r in derivation.rates],
            "derivation": derivation.as_json(),
        }
        return RatesUsed(matrix.method, derivation.rates, derivation, described)
    entered = tuple(matrix.entered_rates)
    return RatesUsed(
        matrix.method, entered, None, {"method": matrix.method, "rates": [rate_text(r) for r in entered]}
    )


def allowance_held(as_of: date, *, book_id: int | None = None) -> dict[str, tuple[Decimal, int]]:
    """Per currency: the allowance for doubtful debts held at the end of ``as_of`` in the book (positive
    when credit, as it normally is) and the id of the last entry counted."""
    rows = (
        JournalEntry.objects.filter(
            account__kind=AccountKind.ALLOWANCE_DOUBTFUL,
            account__book_id=book_id,
            transaction__effective_date__lte=as_of,
        )
        .order_by()
        .values("currency")
        .annotate(balance=Sum("amount"), last=Max("id"))
    )
    return {row["currency"]: (-(row["balance"] or ZERO), row["last"] or 0) for row in rows}


def _currency_ecl(
    currency: str, gross: dict[str, Decimal], rates, held: tuple[Decimal, int] | None
) -> CurrencyEcl:
    buckets = []
    for key, rate in zip(BUCKET_KEYS, rates, strict=True):
        exact = gross.get(key, ZERO)
        # Rounded once, from the exact open amount: never a rounded gross times the rate.
        ecl = quantize_money(exact * rate / HUNDRED, currency)
        buckets.append(BucketEcl(key, quantize_money(exact, currency), rate, ecl))
    prior, marker = held or (ZERO, 0)
    return CurrencyEcl(
        currency=currency,
        buckets=tuple(buckets),
        total=sum((b.ecl for b in buckets), ZERO),
        prior_allowance=prior,
        allowance_marker=marker,
    )


def base_view(currencies: dict[str, CurrencyEcl], as_of: date, rates) -> tuple[CurrencyEcl | None, tuple]:
    fx_rates = BaseRates()
    base = fx_rates.base
    fx = {currency: fx_rates.rate(currency, as_of) for currency in currencies}
    if fx_rates.missing:
        return None, tuple(sorted(fx_rates.missing))
    buckets = []
    for index, (key, rate) in enumerate(zip(BUCKET_KEYS, rates, strict=True)):
        gross = sum((c.buckets[index].gross * fx[ccy] for ccy, c in currencies.items()), ZERO)
        ecl = sum((c.buckets[index].ecl * fx[ccy] for ccy, c in currencies.items()), ZERO)
        buckets.append(BucketEcl(key, quantize_money(gross, base), rate, quantize_money(ecl, base)))
    prior = sum((c.prior_allowance * fx[ccy] for ccy, c in currencies.items()), ZERO)
    view = CurrencyEcl(
        currency=base,
        buckets=tuple(buckets),
        total=sum((b.ecl for b in buckets), ZERO),
        prior_allowance=quantize_money(prior, base),
    )
    return view, ()


def ecl_measure(as_of: date, *, rates=None, book_id: int | None = None) -> EclMeasure:
    """Measure expected credit loss at the end of ``as_of`` in one book (None: the operator's).

    ``rates``: five percents for current, 1–30, 31–60, 61–90 and over 90 days, else the matrix in force.
    Raises ``EclInputError`` for bad rates or a future date, ``EclError`` when derived rates have no
    history, ``DerivedRatesMissing`` when pooling the history needs a rate that is missing. A currency
    without a rate for the base view is no error: ``base`` is None and ``missing_rates`` names the pairs.
    """
    as_of_check(as_of)
    used = rates_used(as_of, rates=rates, book_id=book_id)
    gross = aging_totals(as_of, book_invoices(book_id))
    held = allowance_held(as_of, book_id=book_id)
    currencies = {
        currency: _currency_ecl(currency, gross.get(currency, {}), used.rates, held.get(currency))
        for currency in sorted(set(gross) | {c for c, (amount, _m) in held.items() if amount != 0})
    }
    base, missing = base_view(currencies, as_of, used.rates)
    return EclMeasure(
        as_of=as_of,
        book_id=book_id,
        method=used.method,
        rates=used.rates,
        derivation=used.derivation,
        matrix={**used.matrix, "book_id": book_id},
        currencies=currencies,
        base_currency=settings.BASE_CURRENCY,
        base=base,
        missing_rates=missing,
    )
