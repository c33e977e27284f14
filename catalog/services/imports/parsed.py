"""What a parser hands to the importer: one item per model, with where it came from in the file."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import ngettext

from catalog.models import Modality
from catalog.rating import TierPrices
from catalog.services.validation import field_error

# More problems than this and the rest are summarised: a wrong file is refused all the same.
MAX_ERRORS = 50


@dataclass
class ImportedPrices:
    """One model's prices as a file states them (per million tokens, the book's currency)."""

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


@dataclass
class ParsedFile:
    items: list[ImportedPrices] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


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
