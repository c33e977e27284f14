"""Change one part of a price entry — a time-of-day window, a service tier, the unit prices — as a new
version of the entry from an instant (``price_entry_revise``): the version in force until then is ended,
never edited, so every event already rated keeps the prices it was rated at."""

from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from catalog.models import PriceEntry
from catalog.rating import TierPrices
from catalog.services.books import WindowSpec, entry_tiers, entry_windows, price_entry_revise


def window_set(
    *, entry: PriceEntry, window: WindowSpec, effective_from: datetime, original: str = "", created_by=None
) -> PriceEntry:
    """Add ``window`` or, when ``original`` names one of the entry's windows, put it in that one's place."""
    windows = entry_windows(entry)
    labels = [w.label for w in windows]
    if original:
        if original not in labels:
            raise ValidationError({"label": _("The entry has no window %(label)s.") % {"label": original}})
        windows[labels.index(original)] = window
    else:
        windows.append(window)
    return price_entry_revise(
        entry=entry, effective_from=effective_from, windows=windows, created_by=created_by
    )


def window_remove(*, entry: PriceEntry, label: str, effective_from: datetime, created_by=None) -> PriceEntry:
    windows = entry_windows(entry)
    kept = [w for w in windows if w.label != label]
    if len(kept) == len(windows):
        raise ValidationError({"name": _("The entry has no window %(label)s.") % {"label": label}})
    return price_entry_revise(entry=entry, effective_from=effective_from, windows=kept, created_by=created_by)


def service_tier_set(
    *, entry: PriceEntry, name: str, tiers: list[TierPrices], effective_from: datetime, created_by=None
) -> PriceEntry:
    """Add the service tier ``name`` or replace its prices."""
    _standard, named = entry_tiers(entry)
    named = [(n, t) for n, t in named if n != name] + [(name, tiers)]
    return price_entry_revise(
        entry=entry, effective_from=effective_from, service_tiers=sorted(named), created_by=created_by
    )


def service_tier_remove(
    *, entry: PriceEntry, name: str, effective_from: datetime, created_by=None
) -> PriceEntry:
    _standard, named = entry_tiers(entry)
    kept = [(n, t) for n, t in named if n != name]
    if len(kept) == len(named):
        raise ValidationError({"name": _("The entry has no service tier %(name)s.") % {"name": name}})
    return price_entry_revise(
        entry=entry, effective_from=effective_from, service_tiers=kept, created_by=created_by
    )


def unit_prices_set(
    *, entry: PriceEntry, prices: dict[str, Decimal | None], effective_from: datetime, created_by=None
) -> PriceEntry:
    """Put the audio, image and audio-second prices on every tier of the entry, standard and service tiers
    alike (a flex request with images pays the same per image)."""
    standard, named = entry_tiers(entry)
    return price_entry_revise(
        entry=entry,
        effective_from=effective_from,
        tiers=[replace(t, **prices) for t in standard],
        service_tiers=[(n, [replace(t, **prices) for t in tiers]) for n, tiers in named],
        created_by=created_by,
    )
