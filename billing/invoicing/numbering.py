"""Gapless document numbers: INV-2026-000001, CN-2026-000001, RC-2026-000001 …

Each series is a row whose counter is advanced under ``SELECT … FOR UPDATE``. Call :func:`number_next`
inside the database transaction that stores the numbered document: if that transaction rolls back, the
counter rolls back with it, so no number is ever lost, and concurrent callers queue on the row lock.
"""

from datetime import date

from django.db import IntegrityError, transaction

from billing.invoicing.models import NumberSeries

PREFIXES = {"invoice": "INV", "credit_note": "CN", "receipt": "RC"}


def series_key(document: str, on: date) -> str:
    """The series a ``document`` ("invoice", "credit_note", "receipt") dated ``on`` is numbered in."""
    return f"{PREFIXES[document]}-{on.year}"


def number_next(document: str, on: date) -> tuple[str, str]:
    """Take the next number of ``document``'s series for ``on``'s year; return ``(series, number)``."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("number_next must run inside the transaction that stores the document.")
    key = series_key(document, on)
    try:
        with transaction.atomic():
            NumberSeries.objects.get_or_create(key=key)
    except IntegrityError:  # a concurrent caller created the series first; its row is what we lock next
        pass
    series = NumberSeries.objects.select_for_update().get(key=key)
    series.last_number += 1
    series.save(update_fields=["last_number"])
    return key, f"{key}-{series.last_number:06d}"
