"""Read LiteLLM's numbers as the decimals the vendor meant, and say when a value had to be read that way.

LiteLLM's file is written by a program from binary floats, so a price of 1.6 per million tokens is
published as ``1.6000000000000001e-06``. Such a value is read rounded to 15 significant digits (every
decimal of up to 15 digits survives a float exactly, so that is what the float can mean) with trailing
zeros dropped, in Decimal arithmetic (no float is involved); each value read so is recorded, so the preview
says what was normalised. A value that still has more than 12 decimal places per million is not a price we
can store without rounding: its entry is skipped with that reason, the file is not refused.
"""

from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation, localcontext

from catalog.models.fields import PRICE_DIGITS
from catalog.rating import EXACT
from catalog.services.imports.parsed import MAX_PRICE_EXPONENT, shown

# The significant digits a binary float (double) always reproduces: what a published float can mean.
FLOAT_DIGITS = Context(prec=15, rounding=ROUND_HALF_EVEN)
PLACES = PRICE_DIGITS["decimal_places"]
INTEGER_DIGITS = PRICE_DIGITS["max_digits"] - PLACES


class Normalised(Decimal):
    """A JSON float read as the shorter decimal it meant; ``written`` keeps the file's text."""

    written: str


class EntrySkipped(Exception):
    """Raised while reading one entry: the entry is skipped with ``reason``; the file goes on."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def read_float(text: str) -> Decimal:
    """``json.loads``' ``parse_float``: the decimal ``text`` states, or the 15-digit decimal it meant."""
    exact = Decimal(text)
    if not exact.is_finite() or not exact or exact.adjusted() > MAX_PRICE_EXPONENT or exact.adjusted() < -300:
        return exact
    meant = FLOAT_DIGITS.plus(exact).normalize(FLOAT_DIGITS)
    if meant == exact:
        return exact
    value = Normalised(meant)
    value.written = text
    return value


def entry_number(
    value, key: str, normalised: list[tuple[str, str, str]], *, scale: bool = True
) -> Decimal | None:
    """``value`` per million tokens (or as is, ``scale=False``), exactly; None when absent.

    Raise EntrySkipped naming ``key`` when it is not a price we can store. A normalised float is
    appended to ``normalised`` as ``(key, as written, as read)``.
    """
    if value is None:
        return None
    said = shown(value.written if isinstance(value, Normalised) else value)
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise EntrySkipped(f"{key}: {said} is not a number")
    try:
        number = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except (ArithmeticError, ValueError):
        raise EntrySkipped(f"{key}: {said} is not a number") from None
    if not number.is_finite() or number < 0:
        raise EntrySkipped(f"{key}: {said} is not a price (negative or not finite)")
    if number and number.adjusted() > MAX_PRICE_EXPONENT:
        raise EntrySkipped(f"{key}: {said} is too large")
    with localcontext(EXACT):
        try:
            result = number.scaleb(6) if scale else number
        except InvalidOperation:
            raise EntrySkipped(f"{key}: {said} is too large") from None
    exponent = result.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -PLACES:
        unit = "per million tokens " if scale else ""
        raise EntrySkipped(f"{key}: {said} {unit}has more than {PLACES} decimal places")
    if result and result.adjusted() >= INTEGER_DIGITS:
        raise EntrySkipped(f"{key}: {said} is too large")
    if isinstance(value, Normalised):
        normalised.append((key, value.written, format(Decimal(value), "f")))
    return result
