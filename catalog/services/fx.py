"""Enter exchange rates one at a time or from a CSV file (all or nothing)."""

import csv
import io
from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction

from catalog.models import FxRate
from catalog.models.fields import currency_validator
from catalog.services.validation import price_check

FX_COLUMNS = ("date", "base", "quote", "rate")


def fx_rate_set(*, base: str, quote: str, on: date, rate: Decimal, source: str = "") -> FxRate:
    """Record ``1 base = rate quote`` from ``on``; replaces a rate already entered for that day."""
    base, quote = base.strip().upper(), quote.strip().upper()
    for field, value in (("base", base), ("quote", quote)):
        try:
            currency_validator(value)
        except ValidationError as exc:
            raise ValidationError({field: exc.messages}) from None
    if base == quote:
        raise ValidationError({"quote": "Base and quote currencies must differ."})
    if rate <= 0:
        raise ValidationError({"rate": "The rate must be greater than zero."})
    try:
        price_check(rate)
    except ValidationError as exc:
        raise ValidationError({"rate": exc.messages}) from None
    fx, _created = FxRate.objects.update_or_create(
        base=base, quote=quote, date=on, defaults={"rate": rate, "source": source[:120]}
    )
    return fx


@transaction.atomic
def fx_rates_import_csv(content: str, *, source: str = "csv") -> list[FxRate]:
    """Import ``date,base,quote,rate`` rows; any bad row refuses the whole file, naming row and field."""
    reader = csv.DictReader(io.StringIO(content.lstrip("\ufeff")))
    missing = [c for c in FX_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ValidationError(f"Row 1 (header): missing column(s) {', '.join(missing)}.")
    rates = []
    errors = []
    for number, row in enumerate(reader, start=2):
        try:
            on = date.fromisoformat((row["date"] or "").strip())
        except ValueError:
            errors.append(f"Row {number}, field date: {row['date']!r} is not a date (YYYY-MM-DD).")
            continue
        try:
            rate = Decimal((row["rate"] or "").strip())
        except InvalidOperation:
            errors.append(f"Row {number}, field rate: {row['rate']!r} is not a number.")
            continue
        try:
            rates.append(
                fx_rate_set(base=row["base"] or "", quote=row["quote"] or "", on=on, rate=rate, source=source)
            )
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                errors.extend(f"Row {number}, field {field}: {m}" for m in messages)
    if errors:
        # Raising inside the atomic block rolls back the rows already written: nothing half-applied.
        raise ValidationError(errors)
    return rates
