"""Amount rules for card top-ups: limits, presets and the card fee, computed on plain Decimals.

Everything here is in major units (yuan, dollars). Conversion to Stripe's minor units happens only in
``billing.stripe.api``.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from billing.money import currency_exponent, is_money, quantize_money


@dataclass(frozen=True)
class CardQuote:
    """What a card top-up charges: ``amount`` reaches the wallet, ``charged`` is what the card pays."""

    currency: str
    amount: Decimal
    fee: Decimal
    fee_mode: str  # "customer" (fee added on top) or "absorb" (we pay it)

    @property
    def charged(self) -> Decimal:
        return self.amount + self.fee if self.fee_mode == "customer" else self.amount


def card_limits(currency: str) -> tuple[Decimal, Decimal] | None:
    rule = settings.TOPUP_CARD_LIMITS.get(currency.upper())
    if rule is None:
        return None
    return Decimal(rule["min"]), Decimal(rule["max"])


def card_presets(currency: str) -> list[Decimal]:
    rule = settings.TOPUP_CARD_LIMITS.get(currency.upper(), {})
    return [Decimal(p) for p in rule.get("presets", [])]


def card_fee(*, amount: Decimal, currency: str) -> Decimal:
    """Return the card fee for ``amount``: a percentage plus a fixed part, rounded once to the minor unit."""
    percent = Decimal(settings.TOPUP_CARD_FEE_PERCENT)
    fixed = Decimal(settings.TOPUP_CARD_FEE_FIXED.get(currency.upper(), "0"))
    return quantize_money(amount * percent / Decimal(100) + fixed, currency)


def card_quote(*, amount: Decimal, currency: str, account_currency: str | None = None) -> CardQuote:
    """Validate a requested top-up and price it; raise ValidationError with a message the customer can use."""
    currency = (currency or "").upper()
    limits = card_limits(currency)
    if limits is None:
        raise ValidationError(
            _("Card top-ups are not available in %(currency)s.") % {"currency": currency or "?"},
            code="currency",
        )
    if account_currency and currency != account_currency.upper():
        raise ValidationError(
            _("Your account is billed in %(account)s; please top up in %(account)s.")
            % {"account": account_currency.upper()},
            code="currency",
        )
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise ValidationError(_("Enter an amount."), code="amount")
    if not is_money(amount, currency):
        raise ValidationError(
            _("%(currency)s amounts have at most %(places)s decimal places.")
            % {"currency": currency, "places": currency_exponent(currency)},
            code="amount",
        )
    low, high = limits
    if not low <= amount <= high:
        raise ValidationError(
            _("Card top-ups in %(currency)s must be between %(min)s and %(max)s.")
            % {"currency": currency, "min": low, "max": high},
            code="amount",
        )
    return CardQuote(
        currency=currency,
        amount=amount,
        fee=card_fee(amount=amount, currency=currency),
        fee_mode=settings.TOPUP_CARD_FEE_MODE,
    )


def captured_split(
    *, amount: Decimal, fee: Decimal, fee_mode: str, charged: Decimal, captured: Decimal, currency: str
) -> tuple[Decimal, Decimal]:
    """Split what Stripe captured, when it is not what we charged, into (wallet credit, card fee).

    Proportional to the quote and rounded once, as refunds are split, so that a later refund of the whole
    capture takes back exactly what was credited. When the customer pays the fee, the capture holds both
    parts; when we absorb it, the wallet gets the whole capture and the fee shrinks or grows with it.
    """
    if fee_mode == "customer":
        wallet = quantize_money(captured * amount / charged, currency)
        return wallet, captured - wallet
    return captured, quantize_money(fee * captured / charged, currency)
