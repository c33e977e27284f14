"""Checks shared by every write path (forms, imports, the admin): tiers, spans and price digits."""

import itertools
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from catalog.models.fields import PRICE_DIGITS
from catalog.rating import PRICE_FIELDS, UNIT_CLASSES, TierPrices


def row_label(number: int) -> str:
    """Where a problem is in an uploaded file: "Row 3" (the header is row 1)."""
    return _("Row %(number)s") % {"number": number}


def field_error(where: str, field_name: str, message: str) -> str:
    """One import problem, keeping the row and the field: "Row 3, field input: …"."""
    return _("%(where)s, field %(field)s: %(message)s") % {
        "where": where,
        "field": field_name,
        "message": message,
    }


def tier_label(lo: int, hi: int | None) -> str:
    return f"({lo}, ∞)" if hi is None else f"({lo}, {hi}]"


def tiers_check(tiers: Sequence[TierPrices]) -> list[TierPrices]:
    """Return ``tiers`` sorted, or raise ValidationError naming the tiers that overlap or leave a gap.

    Tiers must start at 0 and follow each other without overlap or gap (``lo`` of one is ``hi`` of
    the one before): a prompt length must land in exactly one tier.
    """
    if not tiers:
        raise ValidationError(_("At least one price tier is required."))
    ordered = sorted(tiers, key=lambda t: t.lo)
    errors = []
    if ordered[0].lo != 0:
        errors.append(_("The first tier must start at 0 prompt tokens, not %(lo)s.") % {"lo": ordered[0].lo})
    for tier in ordered:
        if tier.hi is not None and tier.hi <= tier.lo:
            errors.append(_("Tier %(tier)s ends before it starts.") % {"tier": tier_label(tier.lo, tier.hi)})
        for name in PRICE_FIELDS:
            value = getattr(tier, name)
            if value is not None:
                try:
                    price_check(value)
                except ValidationError as exc:
                    errors.append(
                        _("Tier %(tier)s %(price)s: %(error)s")
                        % {"tier": tier_label(tier.lo, tier.hi), "price": name, "error": exc.messages[0]}
                    )
    for before, after in itertools.pairwise(ordered):
        a, b = tier_label(before.lo, before.hi), tier_label(after.lo, after.hi)
        if before.hi is None or after.lo < before.hi:
            errors.append(_("Tier %(first)s overlaps tier %(second)s.") % {"first": a, "second": b})
        elif after.lo > before.hi:
            errors.append(
                _("Tiers %(first)s and %(second)s leave a gap: no price for %(lo)s–%(hi)s prompt tokens.")
                % {"first": a, "second": b, "lo": before.hi + 1, "hi": after.lo}
            )
    if errors:
        raise ValidationError(errors)
    return ordered


def price_check(value: Decimal, *, places: int = PRICE_DIGITS["decimal_places"]) -> Decimal:
    """Refuse negative prices and prices the column cannot hold exactly (never round them)."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValidationError(_("%(value)s is not a decimal number.") % {"value": repr(value)})
    if value < 0:
        raise ValidationError(_("%(value)s is negative.") % {"value": value})
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -places:
        raise ValidationError(
            _("%(value)s has more than %(places)s decimal places; it would have to be rounded.")
            % {"value": value, "places": places}
        )
    integer_digits = len(str(int(value)))
    if integer_digits > PRICE_DIGITS["max_digits"] - places:
        raise ValidationError(_("%(value)s is too large.") % {"value": value})
    return value


def span_label(start: datetime, end: datetime | None) -> str:
    end_text = f"{end:%Y-%m-%d %H:%M}" if end else _("open")
    return f"{start:%Y-%m-%d %H:%M}–{end_text}"


def spans_overlap(a_start, a_end, b_start, b_end) -> bool:
    """True if [a_start, a_end) and [b_start, b_end) share an instant (None: open-ended)."""
    return (b_end is None or a_start < b_end) and (a_end is None or b_start < a_end)


def overlap_check(start: datetime, end: datetime | None, existing: Iterable, what: str) -> None:
    """Raise ValidationError naming every row of ``existing`` whose span overlaps ``[start, end)``."""
    if end is not None and end <= start:
        raise ValidationError({"effective_to": _("The end must come after the start.")})
    clashes = [row for row in existing if spans_overlap(start, end, row.effective_from, row.effective_to)]
    if clashes:
        names = "; ".join(span_label(row.effective_from, row.effective_to) for row in clashes)
        message = _("%(what)s %(span)s overlaps the existing span(s) %(spans)s.") % {
            "what": what,
            "span": span_label(start, end),
            "spans": names,
        }
        raise ValidationError({"effective_from": message})


# The per-unit prices a tier may carry beside the token classes, named as their classes.
UNIT_PRICE_NAMES = UNIT_CLASSES
SERVICE_TIER_MAX = 20
# The names vendors give their tiers (flex, priority, scale, on_demand): nothing else matches an event.
SERVICE_TIER_NAME = re.compile(r"^[a-z0-9_-]+$")


def service_tier_name_check(name: str) -> str:
    """A service tier's name as events send it (lower-cased, ``flex``, ``priority``), or ValidationError."""
    cleaned = (name or "").strip().lower()
    if not cleaned:
        raise ValidationError({"service_tier": _("A service tier needs a name (flex, priority).")})
    if len(cleaned) > SERVICE_TIER_MAX:
        raise ValidationError(
            {
                "service_tier": _("A service tier's name is at most %(max)s characters.")
                % {"max": SERVICE_TIER_MAX}
            }
        )
    if not SERVICE_TIER_NAME.match(cleaned):
        raise ValidationError(
            {
                "service_tier": _(
                    "A service tier's name is letters, digits, - and _ (as gateways send it: flex, priority)."
                )
            }
        )
    return cleaned


def window_prices_check(prices: dict[str, Decimal | None]) -> None:
    """A window's prices: at least one given (a window without prices changes nothing), each a price."""
    if all(value is None for value in prices.values()):
        raise ValidationError(
            {"input": _("Give the window at least one price; blank ones keep the standard price.")}
        )
    errors = {}
    for name, value in prices.items():
        if value is not None:
            try:
                price_check(value)
            except ValidationError as exc:
                errors[name] = exc.messages
    if errors:
        raise ValidationError(errors)
