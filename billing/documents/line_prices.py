"""Per class prices of a usage invoice line, for the invoice PDF, CSV and the invoice pages.

The period close stores a usage line with ``unit_price`` None (one line per model mixes classes priced
differently) and puts the breakdown in ``line.details`` (``billing.invoicing.close``):

* ``tokens`` {class: count}: the catalog's token classes (``catalog.rating.TOKEN_CLASSES``: "input",
  "cache_read", …), then the unit classes used (``UNIT_CLASSES``): audio tokens (out of input and
  output), ``image`` (a count of images) and ``audio_second`` (audio counted in *milliseconds*, priced per
  second, as rating counts it);
* ``unit_prices`` {class: price as text}: per million tokens, per image, per second of audio; audio tokens
  without a price of their own pay the input and output prices, as rating falls back;
* ``prices_varied`` (the plan or its prices changed in the period, or the plan is tiered), and where they
  apply ``batch_prices`` {class: per million}, ``request_fee`` and ``window_prices`` {window label: {class:
  per million}} (``billing.invoicing.pricing``);
* ``windows`` {window label: {"tokens", "requests", "amount"}}: what of the line was sold at a time-of-day
  window's prices (off-peak), its amount exact (``billing.invoicing.close.windows``).

A line with usage both in a window and at standard hours is *split*: its rows come in parts, standard
hours ("Peak") first — the line less its windows — then each window, each part with its tokens, prices
and amount (rounded; the standard part takes the line's amount less the windows', so the parts add up to
the line). A line wholly in one window is not split: it is marked with the window's label and priced at
the window's prices. The label catalog gives a window by default ("Off-peak") is translated when shown;
a label staff typed is shown as typed.

A line's amount is what was charged, each request at the price in force for it (batch requests at the
batch prices, long prompts at their tier's). The documents print what the unit prices come to (every
part's counts × its prices, rounded to the currency) and a price adjustment row for the difference, so
the printed figures always add up to the amount charged.
"""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext, pgettext_lazy

from billing.money import quantize_money
from catalog.rating import (
    AUDIO_INPUT,
    AUDIO_OUTPUT,
    AUDIO_SECOND,
    CLASS_UNITS,
    IMAGE,
    INPUT,
    OUTPUT,
    TOKEN_CLASS_LABELS,
    TOKEN_CLASSES,
    UNIT_CLASSES,
)
from catalog.time_windows import window_label

MILLION = Decimal(1_000_000)
# How many counted units one price is for: a million tokens, one image, one second (1,000 ms).
_PER = {IMAGE: Decimal(1), AUDIO_SECOND: Decimal(1000)}
# Audio tokens without a price of their own pay these classes' prices (``TierPrices.unit_prices``).
_FALLBACK = {AUDIO_INPUT: INPUT, AUDIO_OUTPUT: OUTPUT}
LINE_CLASSES = (*TOKEN_CLASSES, *UNIT_CLASSES)
PEAK = pgettext_lazy("time of day", "Peak")
# Row labels and price units of the classes that are not tokens.
_UNIT_LABELS = {AUDIO_SECOND: _("Audio")}
_PRICE_UNITS = {IMAGE: _("per image"), AUDIO_SECOND: pgettext_lazy("invoice unit price", "per second")}
# The units period close writes on invoice lines (``billing.invoicing.close.lines``), as documents show
# them; a unit staff typed on a line of their own is shown as typed.
LINE_UNITS = {
    "tokens": pgettext_lazy("invoice unit", "tokens"),
    "month": pgettext_lazy("invoice unit", "month"),
    "quarter": pgettext_lazy("invoice unit", "quarter"),
    "each": pgettext_lazy("invoice unit", "each"),
}


def unit_label(unit: str):
    """An invoice line's unit as a reader sees it ("month" → 月 in Chinese); lazy for the known ones."""
    return LINE_UNITS.get(unit, unit)


@dataclass(frozen=True)
class ClassPrice:
    token_class: str
    label: str  # translated when shown (a lazy string)
    tokens: int  # the count: tokens, images (``image``) or audio milliseconds (``audio_second``)
    unit_price: Decimal | None  # per million tokens, per image or per second; None when unknown
    batch_price: Decimal | None = None  # per million tokens, what batch requests pay; None: no batch price
    part: str = ""  # on a split line, the part's label (lazy); blank otherwise

    @property
    def is_unit(self) -> bool:
        """Images or audio seconds: counted apart from tokens."""
        return self.token_class in _PER

    @property
    def quantity(self) -> Decimal:
        """The count in the unit the price is for: tokens, images, or seconds (three decimals at most)."""
        if self.token_class == AUDIO_SECOND:
            return Decimal(self.tokens) / _PER[AUDIO_SECOND]
        return Decimal(self.tokens)

    @property
    def seconds_text(self) -> str:
        """Audio seconds as documents print them ("12.5 s"), in the language being rendered."""
        seconds = number_format(self.quantity, use_l10n=True, force_grouping=True)
        return pgettext("audio duration", "%(seconds)s s") % {"seconds": seconds}

    @property
    def price_unit(self) -> str:
        """What the unit price is for, beside it, when not a million tokens: "per image", "per second"."""
        return _PRICE_UNITS.get(self.token_class, "")

    @property
    def unit(self) -> str:
        return CLASS_UNITS.get(self.token_class, CLASS_UNITS[INPUT])

    @property
    def at_unit_price(self) -> Decimal:
        return self.unit_price * self.tokens / _PER.get(self.token_class, MILLION)


@dataclass(frozen=True)
class LinePart:
    """One time-of-day part of a split usage line: standard hours or one window."""

    label: str  # lazy
    tokens: int  # tokens only (no images, no audio milliseconds)
    amount: Decimal  # rounded to the currency; a line's parts add up to its amount
    rows: tuple[ClassPrice, ...]


@dataclass(frozen=True)
class PriceCheck:
    """How a usage line's amount follows from its tokens: ``at_unit_prices`` (tokens × the unit prices
    shown, rounded to the currency) plus ``adjustment`` is the line's amount, to the last digit."""

    at_unit_prices: Decimal
    adjustment: Decimal
    reasons: tuple  # lazy strings: what makes the charged amount differ from the unit prices

    @property
    def reason_text(self) -> str:
        return ", ".join(str(r) for r in self.reasons)


def _decimal(value) -> Decimal | None:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None
    return number if number.is_finite() else None


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _dict(details: dict, key: str) -> dict:
    value = details.get(key)
    return value if isinstance(value, dict) else {}


def _details(line) -> dict:
    return line.details if isinstance(line.details, dict) else {}


def _price(prices: dict, cls: str) -> Decimal | None:
    """``cls``'s price in ``prices``, audio tokens falling back to input and output."""
    if cls not in prices and cls in _FALLBACK:
        cls = _FALLBACK[cls]
    return _decimal(prices.get(cls))


def _label(cls: str):
    return _UNIT_LABELS.get(cls) or TOKEN_CLASS_LABELS.get(cls, cls)


def _rows(counts: dict, prices: dict, batch: dict, units: dict, part="") -> tuple[ClassPrice, ...]:
    """The non-zero classes of ``counts`` in the catalog's order (classes it does not know last), priced
    from ``prices`` (images and audio seconds from ``units``: windows do not price them)."""
    others = sorted(set(counts) - set(LINE_CLASSES))  # a class added after this line was billed
    rows = []
    for cls in (*LINE_CLASSES, *others):
        count = _int(counts.get(cls))
        if not count:
            continue
        price = _price(units if cls in _PER else prices, cls)
        # The label stays lazy: a PDF is translated in its document's language, which rendering switches to.
        rows.append(ClassPrice(cls, _label(cls), count, price, _decimal(batch.get(cls)), part))
    return tuple(rows)


def _token_count(counts: dict) -> int:
    return sum(_int(n) for cls, n in counts.items() if cls not in _PER)


@dataclass(frozen=True)
class _Layout:
    rows: tuple[ClassPrice, ...]
    parts: tuple[LinePart, ...]  # empty unless the line is split
    window: str  # the label (lazy) of the one window a line was wholly sold in; blank otherwise


def _layout(line, currency: str) -> _Layout:
    details = _details(line)
    tokens, prices, batch = (
        _dict(details, "tokens"),
        _dict(details, "unit_prices"),
        _dict(details, "batch_prices"),
    )
    windows = {label: w for label, w in _dict(details, "windows").items() if isinstance(w, dict)}
    if not windows:
        return _Layout(_rows(tokens, prices, batch, prices), (), "")
    window_prices = _dict(details, "window_prices")
    peak = {cls: _int(n) for cls, n in tokens.items()}
    peak_exact = _decimal(getattr(line, "amount_exact", None)) or line.amount
    window_parts = []
    for label, window in windows.items():
        counts = {cls: _int(n) for cls, n in _dict(window, "tokens").items()}
        for cls, n in counts.items():
            peak[cls] = peak.get(cls, 0) - n
        exact = _decimal(window.get("amount")) or Decimal(0)
        peak_exact -= exact
        own = window_prices.get(label) if isinstance(window_prices.get(label), dict) else {}
        window_parts.append((label, counts, exact, own))
    if not peak_exact and not any(peak.values()) and len(window_parts) == 1:
        label, counts, _exact, own = window_parts[0]
        return _Layout(_rows(counts, own, {}, prices), (), window_label(label))
    parts, rounded = [], Decimal(0)
    for label, counts, exact, own in window_parts:
        shown = window_label(label)
        amount = quantize_money(exact, currency)
        rounded += amount
        parts.append(LinePart(shown, _token_count(counts), amount, _rows(counts, own, {}, prices, shown)))
    if peak_exact or any(peak.values()):
        rows = _rows(peak, prices, batch, prices, PEAK)
        parts.insert(0, LinePart(PEAK, _token_count(peak), line.amount - rounded, rows))
    return _Layout(tuple(r for part in parts for r in part.rows), tuple(parts), "")


def class_prices(line) -> list[ClassPrice]:
    """The classes a usage line billed (non-zero counts), in the catalog's order and with its labels
    (translated), with their unit prices (and batch prices, where the plan has them); on a split line,
    each part's rows in turn (standard hours first), each row naming its part."""
    if line.kind != "usage" or not _details(line):
        return []
    return list(_layout(line, line.invoice.currency).rows)


def _reasons(details: dict, rows: list[ClassPrice]) -> tuple:
    reasons = []
    if any(r.batch_price is not None and r.batch_price != r.unit_price for r in rows):
        reasons.append(_("batch requests at the batch prices"))
    if details.get("prices_varied"):
        reasons.append(_("price changes or context tiers"))
    if _decimal(details.get("request_fee")):
        reasons.append(_("fees per request"))
    if details.get("previously_billed") or not reasons:
        reasons.append(_("usage rated at the prices in force when it happened"))
    return tuple(reasons)


def price_check(line, rows: list[ClassPrice], currency: str) -> PriceCheck | None:
    """What ``rows`` come to at their unit prices and the adjustment to the line's amount; None when a
    unit price is unknown (nothing to reconcile) or the line is not a usage line."""
    if not rows or any(r.unit_price is None for r in rows):
        return None
    at_prices = quantize_money(sum((r.at_unit_price for r in rows), Decimal(0)), currency)
    return PriceCheck(at_prices, line.amount - at_prices, _reasons(_details(line), rows))


def with_class_prices(lines) -> list:
    """``lines`` as a list, each with ``class_prices``, ``line_parts`` (a split line's parts, else empty),
    ``time_window`` (the window a line was wholly sold in, else blank), ``has_batch_prices``,
    ``price_check``, ``prices_varied`` and ``unit_label`` set for the templates."""
    out = list(lines)
    for line in out:
        line.unit_label = unit_label(line.unit)
        layout = (
            _layout(line, line.invoice.currency)
            if line.kind == "usage" and _details(line)
            else _Layout((), (), "")
        )
        line.class_prices = list(layout.rows)
        line.line_parts = list(layout.parts)
        line.time_window = layout.window
        line.has_batch_prices = any(r.batch_price is not None for r in line.class_prices)
        line.price_check = price_check(line, line.class_prices, line.invoice.currency)
        line.prices_varied = bool(_details(line).get("prices_varied")) and bool(line.class_prices)
    return out
