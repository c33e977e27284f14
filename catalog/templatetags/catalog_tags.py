"""Show catalog decimals at full precision without trailing zeros or exponent notation."""

from decimal import Decimal

from django import template
from django.utils.translation import gettext as _

from catalog.rating import TOKEN_CLASS_LABELS
from catalog.selectors.pricelist import decimal_text
from catalog.time_windows import rule_label
from catalog.time_windows import window_label as shown_window_label

register = template.Library()


@register.filter
def dec(value) -> str:
    """2.500000000000 → 2.5; None → an em dash."""
    if value is None or value == "":
        return "—"
    return decimal_text(value if isinstance(value, Decimal) else Decimal(str(value)))


@register.filter
def percent(value) -> str:
    """A fraction as a percentage: 0.125 → 12.5%."""
    if value is None or value == "":
        return "—"
    return f"{decimal_text(Decimal(str(value)) * 100)}%"


@register.filter
def token_class_label(code) -> str:
    """A token class code ("cache_write_1h") as the price tables name it, in the active language; a class
    the catalog does not know shows its code rather than nothing."""
    return str(TOKEN_CLASS_LABELS.get(code, code))


@register.filter
def tier_span(tier) -> str:
    hi = getattr(tier, "hi", None)
    return f"({tier.lo}, ∞)" if hi is None else f"({tier.lo}, {hi}]"


@register.filter
def unit_prices_text(tier) -> str:
    """A tier's audio and image prices in one short cell: "audio in 40 · per image 0.04"; — when none."""
    parts = [
        f"{label} {decimal_text(value)}"
        for name, label in unit_labels().items()
        if (value := getattr(tier, name, None)) is not None
    ]
    return " · ".join(parts) or "—"


def unit_labels() -> dict[str, str]:
    return {
        "audio_input": _("audio input"),
        "audio_output": _("audio output"),
        "image": _("per image"),
        "audio_second": _("per audio second"),
    }


@register.filter
def hours_text(rules) -> str:
    """A window's stored rules for people, in the active language: "Mon–Fri 18:00–08:00; Sat, Sun all day"."""
    return "; ".join(rule_label(rule) for rule in rules)


@register.filter
def any_units(rows) -> bool:
    """True when some price-list row has audio or image prices: only then the list shows their columns."""
    return any(getattr(row, "has_units", False) for row in rows)


@register.filter
def any_windows(rows) -> bool:
    return any(getattr(row, "kind", "") == "window" for row in rows)


@register.filter
def window_label(label: str):
    """A window's label in the reader's language: "Off-peak" is 优惠时段 in Chinese; a typed one as typed."""
    return shown_window_label(label)
