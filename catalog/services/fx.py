"""Enter exchange rates one at a time or from a CSV file (all or nothing)."""

import csv
import io
from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from catalog.models import FxRate
from catalog.models.fields import currency_validator
from catalog.services.validation import field_error, price_check, row_label

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
        raise ValidationError({"quote": _("Base and quote currencies must differ.")})
    if rate <= 0:
        raise ValidationError({"rate": _("The rate must be greater than zero.")})
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
        raise ValidationError(
            _("Row 1 (header): missing column(s) %(columns)s.") % {"columns": ", ".join(missing)}
        )
    rates = []
    errors = []
    for number, row in enumerate(reader, start=2):
        where = row_label(number)
        try:
            on = date.fromisoformat((row["date"] or "").strip())
        except ValueError:
            message = _("%(value)s is not a date (YYYY-MM-DD).") % {"value": repr(row["date"])}
            errors.append(field_error(where, "date", message))
            continue
        try:
            rate = Decimal((row["rate"] or "").strip())
        except InvalidOperation:
            message = _("%(value)s is not a number.") % {"value": repr(row["rate"])}
            errors.append(field_error(where, "rate", message))
            continue
        try:
            rates.append(
                fx_rate_set(base=row["base"] or "", quote=row["quote"] or "", on=on, rate=rate, source=source)
            )
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                errors.extend(field_error(where, field, m) for m in messages)
    if errors:
        # Raising inside the atomic block rolls back the rows already written: nothing half-applied.
        raise ValidationError(errors)
    return rates
