"""Create models, aliases, price books and effective-dated price entries."""

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from catalog.models import AIModel, BookKind, Modality, ModelAlias, PriceBook, PriceEntry, PriceTier, Vendor
from catalog.rating import TierPrices
from catalog.services.validation import overlap_check, price_check, tiers_check


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
) -> PriceEntry:
    """Add ``model``'s prices to ``book`` from ``effective_from``.

    With ``close_open``, an open-ended earlier entry is ended where this one starts (a price
    change); any other overlap is refused with the spans named, since rewriting prices that rating
    may already have used would silently change money already billed.
    """
    ordered = tiers_check(tiers)
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
            lo=t.lo,
            hi=t.hi,
            input=t.input,
            output=t.output,
            cache_read=t.cache_read,
            cache_write_5m=t.cache_write_5m,
            cache_write_1h=t.cache_write_1h,
            reasoning=t.reasoning,
            batch_input=t.batch_input,
            batch_output=t.batch_output,
        )
        for t in ordered
    )
    return entry
