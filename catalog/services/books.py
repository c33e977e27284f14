"""Create models, aliases, price books and effective-dated price entries (with their service tiers and
time-of-day windows), and revise an entry by a new version from an instant."""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import (
    AIModel,
    BookKind,
    Modality,
    ModelAlias,
    PriceBook,
    PriceEntry,
    PriceTier,
    PriceWindow,
    Vendor,
)
from catalog.rating import PRICE_FIELDS, WINDOW_FIELDS, TierPrices
from catalog.services.validation import (
    overlap_check,
    price_check,
    service_tier_name_check,
    tiers_check,
    window_prices_check,
)
from catalog.time_windows import rules_check, zone_check

LABEL_MAX = PriceWindow._meta.get_field("label").max_length
# A change dated "now" on a page reaches the service a moment later; earlier than this is the past.
REVISE_SLACK = timedelta(minutes=1)


@dataclass(frozen=True)
class WindowSpec:
    """A time-of-day window to store: ``rules`` in the stored form (``catalog.time_windows``); a blank
    price keeps the standard price of its class."""

    label: str
    time_zone: str
    rules: list
    input: Decimal | None = None
    cache_read: Decimal | None = None
    cache_write_5m: Decimal | None = None
    cache_write_1h: Decimal | None = None
    output: Decimal | None = None
    reasoning: Decimal | None = None
    audio_input: Decimal | None = None
    audio_output: Decimal | None = None

    @property
    def prices(self) -> dict[str, Decimal | None]:
        return {name: getattr(self, name) for name in WINDOW_FIELDS}


def window_check(window: WindowSpec) -> WindowSpec:
    """``window`` with its label trimmed and rules normalised, or ValidationError keyed by the field at fault
    (``label``, ``time_zone``, ``rules`` or a price's name)."""
    errors: dict[str, list[str]] = {}
    label = (window.label or "").strip()
    if not label or len(label) > LABEL_MAX:
        errors["label"] = [_("A window needs a label of at most %(max)s characters.") % {"max": LABEL_MAX}]
    try:
        zone_check(window.time_zone)
    except ValidationError as exc:
        errors["time_zone"] = exc.messages
    rules = window.rules
    try:
        rules = rules_check(window.rules)
    except ValidationError as exc:
        errors["rules"] = exc.messages
    try:
        window_prices_check(window.prices)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return replace(window, label=label, rules=rules)


def _windows_check(windows: Sequence[WindowSpec]) -> list[WindowSpec]:
    checked = [window_check(w) for w in windows]
    labels = [w.label.lower() for w in checked]
    for label in labels:
        if labels.count(label) > 1:
            raise ValidationError({"label": _("Two windows are labelled %(label)s.") % {"label": label}})
    return checked


def _service_tiers_check(service_tiers) -> list[tuple[str, list[TierPrices]]]:
    checked, seen = [], set()
    for name, tiers in service_tiers:
        name = service_tier_name_check(name)
        if name in seen:
            raise ValidationError(
                {"service_tier": _("Service tier %(name)s is given twice.") % {"name": name}}
            )
        seen.add(name)
        try:
            ordered = tiers_check(tiers)
        except ValidationError as exc:
            raise ValidationError({"service_tier": [f"{name}: {m}" for m in exc.messages]}) from None
        checked.append((name, ordered))
    return checked


def model_create(
    *,
    vendor: Vendor,
    name: str,
    display_name: str = "",
    modality: str = Modality.TEXT,
    context_window: int | None = None,
    max_output_tokens: int | None = None,
    aliases: Sequence[str] = (),
) -> AIModel:
    """Create a model and its aliases; a name may not clash with any model's name or alias."""
    name = name.strip()
    name_clash(name)
    model = AIModel(
        vendor=vendor,
        name=name,
        display_name=display_name,
        modality=modality,
        context_window=context_window,
        max_output_tokens=max_output_tokens,
    )
    model.full_clean(validate_constraints=False)
    model.save()
    for alias in aliases:
        model_alias_add(model=model, alias=alias)
    return model


def model_alias_add(*, model: AIModel, alias: str) -> ModelAlias:
    alias = alias.strip()
    if not alias:
        raise ValidationError({"alias": "An alias cannot be empty."})
    existing = ModelAlias.objects.filter(alias__iexact=alias).select_related("model").first()
    if existing is not None:
        if existing.model_id == model.pk:
            return existing
        raise ValidationError({"alias": f"{alias!r} already names {existing.model.name}."})
    if alias.lower() != model.name.lower():
        other = AIModel.objects.filter(name__iexact=alias).first()
        if other is not None:
            raise ValidationError({"alias": f"{alias!r} is the canonical name of {other.name}."})
    return ModelAlias.objects.create(model=model, alias=alias)


def name_clash(name: str) -> None:
    if not name:
        raise ValidationError({"name": "A model needs a name."})
    clash = AIModel.objects.filter(Q(name__iexact=name) | Q(aliases__alias__iexact=name)).first()
    if clash is not None:
        raise ValidationError({"name": f"{name!r} already names {clash.name}."})


def price_book_create(
    *,
    name: str,
    kind: str,
    currency: str,
    vendor: Vendor | None = None,
    priority: int = 100,
    batch_multiplier: Decimal | None = None,
    description: str = "",
) -> PriceBook:
    if kind not in BookKind.values:
        raise ValidationError(
            {"kind": f"Unknown book kind {kind!r}; use one of {', '.join(BookKind.values)}."}
        )
    book = PriceBook(
        name=name.strip(),
        kind=kind,
        currency=(currency or "").upper(),
        vendor=vendor,
        priority=priority,
        batch_multiplier=batch_multiplier,
        description=description,
    )
    book.full_clean()
    book.save()
    return book


@transaction.atomic
def price_entry_create(
    *,
    book: PriceBook,
    model: AIModel,
    effective_from: datetime,
    tiers: Sequence[TierPrices],
    effective_to: datetime | None = None,
    request_fee: Decimal = Decimal(0),
    batch_multiplier: Decimal | None = None,
    source: str = "",
    created_by=None,
    close_open: bool = True,
    service_tiers: Sequence[tuple[str, Sequence[TierPrices]]] = (),
    windows: Sequence[WindowSpec] = (),
) -> PriceEntry:
    """Add ``model``'s prices to ``book`` from ``effective_from``: the standard ``tiers``, named
    ``service_tiers`` (flex, priority) and time-of-day ``windows`` (the first that covers an instant wins).

    With ``close_open``, an open-ended earlier entry is ended where this one starts (a price
    change); any other overlap is refused with the spans named, since rewriting prices that rating
    may already have used would silently change money already billed.
    """
    ordered = tiers_check(tiers)
    named = _service_tiers_check(service_tiers)
    checked_windows = _windows_check(windows)
    price_check(request_fee)
    if batch_multiplier is not None and batch_multiplier < 0:
        raise ValidationError({"batch_multiplier": "The batch multiplier cannot be negative."})
    # Lock the book so two imports cannot both close the same entry and both insert.
    PriceBook.objects.select_for_update().get(pk=book.pk)
    existing = list(PriceEntry.objects.filter(book=book, model=model))
    if close_open:
        for entry in existing:
            if entry.effective_to is None and entry.effective_from < effective_from:
                entry.effective_to = effective_from
                entry.save(update_fields=["effective_to"])
    try:
        overlap_check(effective_from, effective_to, existing, f"{model.name} in {book.name}")
    except ValidationError as exc:
        raise ValidationError(
            {
                "effective_from": [
                    f"{m} Prices already used for rating are never rewritten." for m in exc.messages
                ]
            }
        ) from None
    entry = PriceEntry.objects.create(
        book=book,
        model=model,
        effective_from=effective_from,
        effective_to=effective_to,
        request_fee=request_fee,
        batch_multiplier=batch_multiplier,
        source=source[:200],
        created_by=created_by,
    )
    PriceTier.objects.bulk_create(
        PriceTier(
            entry=entry,
            service_tier=name,
            lo=t.lo,
            hi=t.hi,
            **{price: getattr(t, price) for price in PRICE_FIELDS},
        )
        for name, tiers_of in [("", ordered), *named]
        for t in tiers_of
    )
    PriceWindow.objects.bulk_create(
        PriceWindow(
            entry=entry,
            position=position,
            label=w.label,
            time_zone=w.time_zone,
            rules=w.rules,
            **w.prices,
        )
        for position, w in enumerate(checked_windows, start=1)
    )
    return entry


def entry_tiers(entry: PriceEntry) -> tuple[list[TierPrices], list[tuple[str, list[TierPrices]]]]:
    """An entry's standard tiers and its service tiers by name, as ``price_entry_create`` takes them."""
    sets: dict[str, list[TierPrices]] = {}
    for t in entry.tiers.order_by("service_tier", "lo"):
        prices = {name: getattr(t, name) for name in PRICE_FIELDS}
        sets.setdefault(t.service_tier, []).append(TierPrices(lo=t.lo, hi=t.hi, **prices))
    standard = sets.pop("", [])
    return standard, sorted(sets.items())


def entry_windows(entry: PriceEntry) -> list[WindowSpec]:
    return [
        WindowSpec(
            label=w.label,
            time_zone=w.time_zone,
            rules=w.rules,
            **{name: getattr(w, name) for name in WINDOW_FIELDS},
        )
        for w in entry.windows.order_by("position")
    ]


@transaction.atomic
def price_entry_revise(
    *,
    entry: PriceEntry,
    effective_from: datetime,
    tiers: Sequence[TierPrices] | None = None,
    service_tiers: Sequence[tuple[str, Sequence[TierPrices]]] | None = None,
    windows: Sequence[WindowSpec] | None = None,
    created_by=None,
) -> PriceEntry:
    """A new version of ``entry`` from ``effective_from``: its prices, with the parts given replaced, and
    ``entry`` ended there. Only the current open-ended version is revised and never from the past: prices
    rating may already have used are never rewritten."""
    entry = PriceEntry.objects.select_for_update().get(pk=entry.pk)
    if entry.effective_to is not None:
        raise ValidationError(
            {"effective_from": _("Only the open-ended price entry can be changed; this one has ended.")}
        )
    if effective_from < timezone.now() - REVISE_SLACK:
        raise ValidationError(
            {
                "effective_from": _(
                    "Changes start now or later; prices already used for rating are never rewritten."
                )
            }
        )
    current_tiers, current_named = entry_tiers(entry)
    who = getattr(created_by, "email", "") or getattr(created_by, "username", "")
    return price_entry_create(
        book=entry.book,
        model=entry.model,
        effective_from=effective_from,
        tiers=current_tiers if tiers is None else tiers,
        service_tiers=current_named if service_tiers is None else service_tiers,
        windows=entry_windows(entry) if windows is None else windows,
        request_fee=entry.request_fee,
        batch_multiplier=entry.batch_multiplier,
        source=_("Edited by %(who)s") % {"who": who} if who else _("Edited"),
        created_by=created_by,
    )
