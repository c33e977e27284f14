"""What a parser hands to the importer: one item per model, with where it came from in the file."""

import reprlib
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from catalog.models import Modality
from catalog.rating import TierPrices
from catalog.services.validation import field_error

# More problems than this and the rest are summarised: a wrong file is refused all the same.
MAX_ERRORS = 50
# Token counts are stored as bigint (tier bounds) and int (a model's context window, maximum output).
MAX_TIER_TOKENS = 2**63 - 1
MAX_MODEL_TOKENS = 2**31 - 1
# A price (per million tokens) has at most 12 digits before the point; far beyond it a number is
# refused before anything computes with it (10^999999999 would be written out digit by digit).
MAX_PRICE_EXPONENT = 100


@dataclass(frozen=True)
class ImportedWindow:
    """A time-of-day window as imported: stored-form ``rules`` (``catalog.time_windows``) in ``time_zone``,
    and per-million prices by ``WINDOW_FIELDS`` name (absent: the standard price)."""

    label: str
    time_zone: str
    rules: tuple[dict, ...]
    prices: tuple[tuple[str, Decimal], ...]


@dataclass
class ImportedPrices:
    """One model's prices as a file states them (per million tokens, the book's currency).

    ``service_tiers``: ``(name, tiers)`` for each service tier (flex, priority …) the file prices, with
    the same bounds as ``tiers``; ``provider``: LiteLLM's ``litellm_provider`` (blank in a CSV).
    """

    ref: str
    name: str
    tiers: list[TierPrices]
    request_fee: Decimal = Decimal(0)
    batch_multiplier: Decimal | None = None
    vendor: str = ""
    aliases: tuple[str, ...] = ()
    display_name: str = ""
    modality: str = Modality.TEXT
    context_window: int | None = None
    max_output_tokens: int | None = None
    service_tiers: list[tuple[str, list[TierPrices]]] = field(default_factory=list)
    windows: list[ImportedWindow] = field(default_factory=list)
    provider: str = ""


@dataclass
class ParsedFile:
    """``normalised``: ``(entry, key, as written, as read)`` for each float read as the decimal it meant;
    ``providers``: each provider named in the file → its number of entries."""

    items: list[ImportedPrices] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    normalised: list[tuple[str, str, str, str]] = field(default_factory=list)
    providers: dict[str, int] = field(default_factory=dict)


class ErrorList:
    """Collects "Row N, field F: message" lines and raises them together."""

    def __init__(self):
        self.errors: list[str] = []

    def add(self, where: str, field_name: str, message: str) -> None:
        self.errors.append(field_error(where, field_name, message))

    def __bool__(self) -> bool:
        return bool(self.errors)

    def raise_if_any(self) -> None:
        if self.errors:
            shown = self.errors[:MAX_ERRORS]
            if len(self.errors) > MAX_ERRORS:
                more = len(self.errors) - MAX_ERRORS
                shown.append(
                    ngettext("… and %(count)s more problem.", "… and %(count)s more problems.", more)
                    % {"count": more}
                )
            raise ValidationError(shown)


def content_check(content: str) -> None:
    """Refuse a file PostgreSQL cannot keep as text (the import stores it, to apply what was previewed)."""
    if "\x00" in content:
        raise ValidationError(_("The file contains NUL characters: it is not a text price file."))


def text_problem(value: str) -> str | None:
    """Why ``value`` (a model name, alias or vendor) cannot be stored as text, or None."""
    if "\x00" in value:
        return _("must not contain the NUL character.")
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:
            return _("is not valid text (it holds a lone surrogate).")
    return None


class _Short(reprlib.Repr):
    """Reprs short enough for a message, of anything a file may hold: nesting too deep for repr is cut
    (``[[...]]``), an int too long to write out is shown as ``9…9``, a Decimal as its text."""

    def __init__(self):
        super().__init__()
        self.maxlevel, self.maxstring, self.maxother, self.maxlist, self.maxdict = 3, 40, 40, 4, 4

    def repr_int(self, x, level):
        return super().repr_int(x, level) if x.bit_length() <= 200 else "9…9"

    def repr_Decimal(self, x, level):
        return self.repr_str(str(x), level).strip("'")


shown = _Short().repr


def token_count(value, *, limit: int = MAX_TIER_TOKENS) -> int | None:
    """``value`` as a whole number of tokens from 0 to ``limit`` (an int, a whole Decimal or ASCII digits),
    or None."""
    if isinstance(value, str):
        value = value.strip()
        value = int(value) if value.isascii() and value.isdigit() and len(value) <= 19 else None
    elif (
        isinstance(value, Decimal)
        and value.is_finite()
        and 0 <= value <= limit
        and value == value.to_integral()
    ):
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= limit:
        return value
    return None
