"""Gapless document numbers: INV-2026-000001, CN-2026-000001, RC-2026-000001 …

Each series is a row whose counter is advanced under ``SELECT … FOR UPDATE``. Call :func:`number_next`
inside the database transaction that stores the numbered document: if that transaction rolls back, the
counter rolls back with it, so no number is ever lost, and concurrent callers queue on the row lock.

Each seller numbers its own documents (``accounts.chain``): the operator's series are ``INV-2026``…, a
resale sub-distributor's carry its id, ``INV-7-2026``…, so its customers' invoices never take a number of
the operator's sequence (and each book's sequence stays gapless on its own). ``book`` is the seller's
customer id, None for the operator.
"""

import contextlib
from datetime import date

from django.db import IntegrityError, transaction

from billing.invoicing.models import NumberSeries

PREFIXES = {"invoice": "INV", "credit_note": "CN", "receipt": "RC"}


def series_key(document: str, on: date, book: int | None = None) -> str:
    """The series a ``document`` ("invoice", "credit_note", "receipt") dated ``on`` is numbered in, in
    ``book``'s (a seller's id; None: the operator's)."""
    if book is None:
        return f"{PREFIXES[document]}-{on.year}"
    return f"{PREFIXES[document]}-{book}-{on.year}"


def number_next(document: str, on: date, book: int | None = None) -> tuple[str, str]:
    """Take the next number of ``document``'s series in ``book`` for ``on``'s year; return ``(series,
    number)``."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("number_next must run inside the transaction that stores the document.")
    key = series_key(document, on, book)
    # A concurrent caller may create the series first (IntegrityError); its row is what we lock next.
    with contextlib.suppress(IntegrityError), transaction.atomic():
        NumberSeries.objects.get_or_create(key=key)
    series = NumberSeries.objects.select_for_update().get(key=key)
    series.last_number += 1
    series.save(update_fields=["last_number"])
    return key, f"{key}-{series.last_number:06d}"


def numbers_take(document: str, on: date, count: int, book: int | None = None) -> tuple[str, list[str]]:
    """Take the next ``count`` numbers of ``document``'s series in one locked step (period close chunks).

    Same rules as :func:`number_next`: call it inside the transaction that stores the documents, and use
    every number it returns, or roll the transaction back.
    """
    if count <= 0:
        return series_key(document, on, book), []
    key, first = number_next(document, on, book)
    if count == 1:
        return key, [first]
    series = NumberSeries.objects.get(key=key)  # locked by number_next for the rest of the transaction
    start = series.last_number
    series.last_number += count - 1
    series.save(update_fields=["last_number"])
    return key, [first] + [f"{key}-{n:06d}" for n in range(start + 1, start + count)]
