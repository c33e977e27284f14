"""Read our own price CSV: one row per model and context tier, prices per million tokens.

Columns (header required, any order): ``model``, ``input``, ``output`` are required; optional are
``tier_lo`` (exclusive, default 0), ``tier_hi`` (inclusive, blank = no limit), ``cache_read``,
``cache_write_5m``, ``cache_write_1h``, ``reasoning``, ``batch_input``, ``batch_output``, and per
model ``batch_multiplier``, ``request_fee``, plus ``vendor`` (slug), ``aliases`` (separated by
``|``), ``display_name``, ``modality``, ``context_window``, ``max_output_tokens`` for models the
import creates. Rows of one model must agree on the per-model columns.
"""

import csv
import io
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from catalog.models import Modality
from catalog.rating import TierPrices
from catalog.services.imports.parsed import (
    MAX_MODEL_TOKENS,
    MAX_PRICE_EXPONENT,
    MAX_TIER_TOKENS,
    ErrorList,
    ImportedPrices,
    ParsedFile,
    shown,
    token_count,
)
from catalog.services.validation import price_check, row_label

REQUIRED = ("model", "input", "output")
TIER_PRICES = ("cache_read", "cache_write_5m", "cache_write_1h", "reasoning", "batch_input", "batch_output")
PER_MODEL = (
    "batch_multiplier",
    "request_fee",
    "vendor",
    "aliases",
    "display_name",
    "modality",
    "context_window",
    "max_output_tokens",
)
COLUMNS = (*REQUIRED, "tier_lo", "tier_hi", *TIER_PRICES, *PER_MODEL)


def parse_csv(content: str) -> ParsedFile:
    errors = ErrorList()
    reader = csv.DictReader(io.StringIO(content.lstrip("\ufeff")))
    header_row = _("Row 1 (header)")
    try:
        header = [h.strip() for h in (reader.fieldnames or [])]
    except csv.Error as exc:
        errors.add(header_row, _("(row)"), _("not readable CSV (%(error)s).") % {"error": exc})
        errors.raise_if_any()
    reader.fieldnames = header
    for column in header:
        if column not in COLUMNS:
            errors.add(
                header_row,
                column or _("(blank)"),
                _("unknown column; known columns: %(columns)s.") % {"columns": ", ".join(COLUMNS)},
            )
    for column in REQUIRED:
        if column not in header:
            errors.add(header_row, column, _("required column missing."))
    errors.raise_if_any()

    items: dict[str, ImportedPrices] = {}
    first_row: dict[str, tuple[int, dict]] = {}
    for number, row in enumerate(_rows(reader), start=2):
        where = row_label(number)
        if isinstance(row, csv.Error):
            errors.add(where, _("(row)"), _("not readable CSV (%(error)s).") % {"error": row})
            continue
        row = {k: (v or "").strip() for k, v in row.items() if k is not None}
        if not any(row.values()):
            continue
        name = row.get("model", "")
        if not name:
            errors.add(where, "model", _("required."))
            continue
        tier = _tier(row, where, errors)
        key = name.lower()
        if key not in items:
            per_model = _per_model(row, where, errors)
            if per_model is None:
                continue
            items[key] = ImportedPrices(ref=where, name=name, tiers=[], **per_model)
            first_row[key] = (number, row)
        else:
            number0, row0 = first_row[key]
            for column in PER_MODEL:
                if row.get(column) and row.get(column) != row0.get(column):
                    errors.add(
                        where,
                        column,
                        _("%(value)s differs from row %(row)s (%(first)s).")
                        % {"value": shown(row[column]), "row": number0, "first": shown(row0.get(column))},
                    )
        if tier is not None:
            items[key].tiers.append(tier)
    errors.raise_if_any()
    return ParsedFile(items=list(items.values()))


def _rows(reader: csv.DictReader) -> Iterator[dict | csv.Error]:
    """The reader's rows; in place of a row it cannot read (a field over its size limit), its error, so
    the rows after it are read and keep their numbers."""
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield exc


def _decimal(
    row: dict, column: str, where: str, errors: ErrorList, *, required: bool = False
) -> Decimal | None:
    raw = row.get(column, "")
    if raw == "":
        if required:
            errors.add(where, column, _("required."))
        return None
    try:
        value = Decimal(raw)
        if value.is_finite() and value and value.adjusted() > MAX_PRICE_EXPONENT:
            raise ValidationError(_("%(value)s is too large.") % {"value": shown(raw)})
        price_check(value)
    except InvalidOperation:
        errors.add(
            where,
            column,
            _("%(value)s is not a number (use a dot for decimals, no thousands separators).")
            % {"value": shown(raw)},
        )
        return None
    except ValidationError as exc:
        errors.add(where, column, exc.messages[0])
        return None
    return value


def _count(
    row: dict, column: str, where: str, errors: ErrorList, *, limit: int = MAX_TIER_TOKENS
) -> int | None:
    raw = row.get(column, "")
    if raw == "":
        return None
    count = token_count(raw, limit=limit)
    if count is None and raw.isascii() and raw.isdigit():
        message = _("%(value)s is more than %(limit)s tokens.") % {"value": shown(raw), "limit": limit}
        errors.add(where, column, message)
    elif count is None:
        errors.add(where, column, _("%(value)s is not a whole number of tokens.") % {"value": shown(raw)})
    return count


def _tier(row: dict, where: str, errors: ErrorList) -> TierPrices | None:
    count = len(errors.errors)
    prices = {c: _decimal(row, c, where, errors) for c in TIER_PRICES}
    input_price = _decimal(row, "input", where, errors, required=True)
    output_price = _decimal(row, "output", where, errors, required=True)
    lo = _count(row, "tier_lo", where, errors) or 0
    hi = _count(row, "tier_hi", where, errors)
    if hi is not None and hi <= lo:
        message = _("%(hi)s must be greater than tier_lo (%(lo)s).") % {"hi": hi, "lo": lo}
        errors.add(where, "tier_hi", message)
    if len(errors.errors) > count:
        return None
    return TierPrices(lo=lo, hi=hi, input=input_price, output=output_price, **prices)


def _per_model(row: dict, where: str, errors: ErrorList) -> dict | None:
    count = len(errors.errors)
    multiplier = _decimal(row, "batch_multiplier", where, errors)
    fee = _decimal(row, "request_fee", where, errors)
    modality = row.get("modality") or Modality.TEXT
    if modality not in Modality.values:
        errors.add(
            where,
            "modality",
            _("%(value)s is not one of %(choices)s.")
            % {"value": shown(modality), "choices": ", ".join(Modality.values)},
        )
    values = {
        "batch_multiplier": multiplier,
        "request_fee": fee or Decimal(0),
        "vendor": row.get("vendor", ""),
        "aliases": tuple(a.strip() for a in row.get("aliases", "").split("|") if a.strip()),
        "display_name": row.get("display_name", ""),
        "modality": modality,
        "context_window": _count(row, "context_window", where, errors, limit=MAX_MODEL_TOKENS),
        "max_output_tokens": _count(row, "max_output_tokens", where, errors, limit=MAX_MODEL_TOKENS),
    }
    return None if len(errors.errors) > count else values
