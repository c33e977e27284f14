"""Preview an import as a diff against the book's current prices, then apply it all or nothing.

The staff page stores the uploaded file in a ``PriceImport`` row and shows the preview; applying
recomputes the diff and refuses if it no longer matches what was shown (someone changed prices in
between), so staff always apply exactly what they reviewed.
"""

import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import AIModel, BookKind, PriceBook, PriceEntry, PriceImport, Vendor
from catalog.models.fields import currency_validator
from catalog.selectors.models import model_suggestions, models_for_matching
from catalog.services.books import model_create, price_book_create, price_entry_create
from catalog.services.imports import providers
from catalog.services.imports.compare import entry_diff, item_json, window_spec
from catalog.services.imports.csvfile import parse_csv
from catalog.services.imports.litellm import parse_litellm
from catalog.services.imports.parsed import ErrorList, ImportedPrices, content_check
from catalog.services.validation import span_label, tiers_check
from common.stored_match import stored_match

# A quoted part of a skip reason (a value, a name) is left out when reasons are grouped.
QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
PARSERS = {PriceImport.Format.LITELLM: parse_litellm, PriceImport.Format.CSV: parse_csv}
NEW, CHANGED, UNCHANGED = "new", "changed", "unchanged"


@dataclass(frozen=True)
class ImportOptions:
    format: str
    book_name: str
    kind: str
    effective_from: datetime
    currency: str = ""
    vendor_slug: str = ""
    create_models: bool = False
    # A LiteLLM reseller provider (bedrock …): its entries only, into its mapping's channel cost book.
    provider: str = ""


@dataclass
class ModelChange:
    item: ImportedPrices
    model: AIModel | None
    status: str
    changes: list[tuple[str, str, str, str]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.model.name if self.model else self.item.name


@dataclass
class ImportPreview:
    options: ImportOptions
    book: PriceBook | None
    currency: str
    changes: list[ModelChange]
    skipped: list[tuple[str, str]]
    normalised: list[tuple[str, str, str, str]] = field(default_factory=list)
    unmapped: list[tuple[str, int]] = field(default_factory=list)

    @property
    def to_apply(self) -> list[ModelChange]:
        return [c for c in self.changes if c.status != UNCHANGED]

    def counts(self) -> dict[str, int]:
        counts = {NEW: 0, CHANGED: 0, UNCHANGED: 0, "skipped": len(self.skipped)}
        counts["normalised"] = len(self.normalised)
        for change in self.changes:
            counts[change.status] += 1
        counts["models_created"] = sum(1 for c in self.changes if c.model is None)
        return counts

    def summary(self) -> dict:
        """A JSON-ready description of the diff, stored with the import and shown on its page."""
        return {
            "book": self.options.book_name,
            "new_book": self.book is None,
            "kind": self.options.kind,
            "currency": self.currency,
            # UTC, so the digest does not depend on the time zone the date was read back in.
            "effective_from": self.options.effective_from.astimezone(UTC).isoformat(),
            "provider": self.options.provider,
            "counts": self.counts(),
            "changes": [
                {
                    "model": c.name,
                    "create_model": c.model is None,
                    "status": c.status,
                    **item_json(c.item),
                    "changes": [list(x) for x in c.changes],
                }
                for c in self.changes
            ],
            # Skip reasons stay in English: they are hashed into the digest, which must not depend on
            # the language the preview was made in (a preview in Chinese may be applied in English).
            # Each is stored with its message key and parameters too, for its page (not hashed).
            "skipped": [[name, reason, skip_stored(reason)] for name, reason in self.skipped],
            "normalised": [list(n) for n in self.normalised],
            "unmapped": [list(u) for u in self.unmapped],
        }

    def digest(self) -> str:
        summary = {**self.summary(), "skipped": [list(s) for s in self.skipped]}
        return hashlib.sha256(json.dumps(summary, sort_keys=True).encode()).hexdigest()


def price_import_preview(content: str, options: ImportOptions) -> ImportPreview:
    """Parse ``content`` and compare it with the book; raise ValidationError (row and field) if bad."""
    if options.format not in PARSERS:
        message = _("Unknown format %(format)s; use litellm or csv.") % {"format": repr(options.format)}
        raise ValidationError({"format": message})
    mappings = providers.provider_mappings() if options.format == PriceImport.Format.LITELLM else {}
    if options.provider:
        if options.format != PriceImport.Format.LITELLM:
            raise ValidationError({"provider": _("Only a LiteLLM file names providers.")})
        channel = providers.channel_mapping(options.provider, mappings).channel_book
        options = replace(options, book_name=channel.name, kind=BookKind.COST, create_models=False)
    if options.kind not in BookKind.values:
        message = _("Unknown kind %(kind)s; use list, cost or sell.") % {"kind": repr(options.kind)}
        raise ValidationError({"kind": message})
    book = PriceBook.objects.filter(name=options.book_name, owner__isnull=True).first()
    currency = _currency(book, options)
    vendor = None
    if options.vendor_slug:
        vendor = Vendor.objects.filter(slug=options.vendor_slug).first()
        if vendor is None:
            message = _("No vendor with slug %(slug)s.") % {"slug": repr(options.vendor_slug)}
            raise ValidationError({"vendor": message})
    content_check(content)
    parsed = PARSERS[options.format](content)
    errors = ErrorList()
    index = models_for_matching()
    skipped = list(parsed.skipped)
    matched: dict[int, ModelChange] = {}
    created: dict[str, ModelChange] = {}
    changes: list[ModelChange] = []
    litellm = options.format == PriceImport.Format.LITELLM
    for item in parsed.items:
        try:
            item.tiers = tiers_check(item.tiers)
        except ValidationError as exc:
            if litellm:  # the vendor's file as published: one entry we cannot store does not stop the rest
                skipped.append((item.name, "tiers: " + " ".join(exc.messages)))
                continue
            where = _("%(where)s (%(model)s)") % {"where": item.ref, "model": item.name}
            for message in exc.messages:
                errors.add(where, "tiers", message)
            continue
        if options.provider:
            if item.provider != options.provider:
                skipped.append((item.name, "another provider's entry"))
                continue
            model = providers.channel_model(item.name, options.provider, index)
            if model is None:
                last = item.name.rsplit("/", 1)[-1]
                skipped.append((item.name, f"no model named {last!r} (add an alias)"))
                continue
        elif litellm:
            resolution = providers.resolve(item.provider, mappings)
            if resolution.skip:
                skipped.append((item.name, resolution.skip))
                continue
            item.vendor = resolution.vendor
            model = index.get(item.name.lower())
        else:
            model = index.get(item.name.lower())
        if model is None:
            if not options.create_models:
                if options.format == PriceImport.Format.LITELLM:
                    skipped.append((item.name, "unknown model (add an alias, or import with models created)"))
                else:
                    suggestions = model_suggestions(item.name)
                    if suggestions:
                        message = _("unknown model %(name)s. Closest known: %(names)s.") % {
                            "name": repr(item.name),
                            "names": ", ".join(suggestions),
                        }
                    else:
                        message = _("unknown model %(name)s.") % {"name": repr(item.name)}
                    errors.add(item.ref, "model", message)
                continue
            item_vendor = _new_model_vendor(item, vendor, options, errors, skipped)
            if item_vendor is None:
                continue
            if item.name.lower() in created:
                errors.add(item.ref, "model", _("%(name)s appears twice.") % {"name": repr(item.name)})
                continue
            item.vendor = item_vendor.slug
            change = ModelChange(item=item, model=None, status=NEW)
            created[item.name.lower()] = change
            changes.append(change)
            continue
        if vendor is not None and model.vendor_id != vendor.pk:
            skipped.append((item.name, f"belongs to {model.vendor.name}, not {vendor.name}"))
            continue
        if model.pk in matched:
            earlier = matched[model.pk]
            if options.format == PriceImport.Format.CSV:
                message = _("%(name)s is %(model)s, already priced by %(where)s.") % {
                    "name": repr(item.name),
                    "model": model.name,
                    "where": earlier.item.ref,
                }
                errors.add(item.ref, "model", message)
                continue
            # LiteLLM lists some models under several keys (a reseller under each region): the canonical
            # name's entry wins, then one named exactly by an alias, else the first.
            if _match_rank(item, model, index) < _match_rank(earlier.item, model, index):
                skipped.append((earlier.item.name, f"another key for {model.name}; {item.name!r} used"))
                earlier.item = item
            else:
                skipped.append((item.name, f"another key for {model.name}; {earlier.item.name!r} used"))
            continue
        change = ModelChange(item=item, model=model, status=NEW)
        matched[model.pk] = change
        changes.append(change)
    errors.raise_if_any()
    if book is not None:
        _compare(book, changes, options.effective_from, errors)
        errors.raise_if_any()
    priced = {c.item.name for c in changes}
    return ImportPreview(
        options=options,
        book=book,
        currency=currency,
        changes=changes,
        skipped=skipped,
        normalised=[n for n in parsed.normalised if n[0] in priced],
        unmapped=providers.unmapped(parsed.providers, mappings) if litellm and not options.provider else [],
    )


@transaction.atomic
def price_import_apply(preview: ImportPreview, *, user=None, source: str = "") -> PriceBook:
    """Write the previewed prices: create the book and models if needed, close and add entries."""
    options = preview.options
    book = preview.book
    if book is None:
        vendor = Vendor.objects.filter(slug=options.vendor_slug).first() if options.vendor_slug else None
        book = price_book_create(
            name=options.book_name, kind=options.kind, currency=preview.currency, vendor=vendor
        )
    for change in preview.to_apply:
        model = change.model
        if model is None:
            item = change.item
            model = model_create(
                vendor=Vendor.objects.get(slug=item.vendor),
                name=item.name,
                display_name=item.display_name,
                modality=item.modality,
                context_window=item.context_window,
                max_output_tokens=item.max_output_tokens,
                aliases=item.aliases,
            )
        try:
            price_entry_create(
                book=book,
                model=model,
                effective_from=options.effective_from,
                tiers=change.item.tiers,
                request_fee=change.item.request_fee,
                batch_multiplier=change.item.batch_multiplier,
                service_tiers=change.item.service_tiers,
                windows=[window_spec(w) for w in change.item.windows],
                source=source,
                created_by=user,
            )
        except ValidationError as exc:
            raise ValidationError(
                [
                    _("%(where)s (%(model)s): %(error)s")
                    % {"where": change.item.ref, "model": change.name, "error": m}
                    for m in exc.messages
                ]
            ) from None
    return book


def price_import_record(
    *, content: str, options: ImportOptions, filename: str = "", user=None
) -> tuple[PriceImport, ImportPreview]:
    """Preview ``content`` and keep it, with its diff, for a later apply."""
    preview = price_import_preview(content, options)
    options = preview.options  # a channel import names its book and kind by its provider
    record = PriceImport.objects.create(
        format=options.format,
        book_name=options.book_name,
        kind=options.kind,
        currency=preview.currency,
        vendor_slug=options.vendor_slug,
        create_models=options.create_models,
        effective_from=options.effective_from,
        filename=filename[:255],
        content=content,
        summary=preview.summary(),
        diff_digest=preview.digest(),
        book=preview.book,
        created_by=user,
    )
    return record, preview


def price_import_record_discard(record: PriceImport) -> bool:
    """Discard a previewed import; return whether it was discarded (an applied one stays applied).

    One conditional update, so a discard racing an apply cannot undo the apply's status.
    """
    return bool(
        PriceImport.objects.filter(pk=record.pk, status=PriceImport.Status.PREVIEWED).update(
            status=PriceImport.Status.DISCARDED
        )
    )


def record_options(record: PriceImport) -> ImportOptions:
    return ImportOptions(
        format=record.format,
        book_name=record.book_name,
        kind=record.kind,
        effective_from=record.effective_from,
        currency=record.currency,
        vendor_slug=record.vendor_slug,
        create_models=record.create_models,
        provider=(record.summary or {}).get("provider", ""),
    )


@transaction.atomic
def price_import_record_apply(record: PriceImport, *, user=None):
    """Apply a previewed import, refusing if the diff changed since it was shown.

    Returns the profitability findings after the change (sell prices now below cost or floor).
    """
    from catalog.services.alerts import price_check_run

    record = PriceImport.objects.select_for_update().get(pk=record.pk)
    if record.status != PriceImport.Status.PREVIEWED:
        raise ValidationError(
            _("This import is already %(status)s.") % {"status": record.get_status_display().lower()}
        )
    preview = price_import_preview(record.content, record_options(record))
    if preview.digest() != record.diff_digest:
        raise ValidationError(
            _("Prices changed since this preview was made; upload the file again to see the new diff.")
        )
    book = price_import_apply(preview, user=user, source=f"import #{record.pk} {record.filename}")
    record.status = PriceImport.Status.APPLIED
    record.applied_at = timezone.now()
    record.book = book
    record.save(update_fields=["status", "applied_at", "book"])
    # Translators: who raised a price alert, e.g. "import #12 into Zhipu list".
    trigger = _("import #%(number)s into %(book)s") % {"number": record.pk, "book": book.name}
    return price_check_run(trigger=trigger)


def _match_rank(item: ImportedPrices, model: AIModel, index: dict[str, AIModel]) -> int:
    name = item.name.lower()
    return 0 if name == model.name.lower() else 1 if index.get(name) is model else 2


def _new_model_vendor(item, vendor, options, errors, skipped) -> Vendor | None:
    """Return the vendor a created model belongs to, or None (skipped or an error recorded)."""
    litellm = options.format == PriceImport.Format.LITELLM
    hint = item.vendor
    if vendor is not None:
        if (hint and hint != vendor.slug) or (litellm and not hint):
            # LiteLLM lists resellers (openrouter/…, bedrock/…) too: only the vendor's own entries.
            skipped.append((item.name, f"not listed under {vendor.name}"))
            return None
        return vendor
    found = Vendor.objects.filter(slug=hint).first() if hint else None
    if found is None:
        if litellm:
            skipped.append((item.name, f"provider {item.provider!r} is not mapped to a vendor (map it)"))
        else:
            message = _("cannot tell the vendor of new model %(name)s; name one.") % {"name": repr(item.name)}
            errors.add(item.ref, "vendor", message)
    return found


def _currency(book: PriceBook | None, options: ImportOptions) -> str:
    currency = (options.currency or "").upper()
    if book is not None:
        if book.kind != options.kind:
            message = _("Book %(book)s is a %(kind)s book, not %(expected)s.") % {
                "book": repr(book.name),
                "kind": book.kind,
                "expected": options.kind,
            }
            raise ValidationError({"kind": message})
        if currency and currency != book.currency:
            message = _("Book %(book)s is in %(currency)s, not %(expected)s.") % {
                "book": repr(book.name),
                "currency": book.currency,
                "expected": currency,
            }
            raise ValidationError({"currency": message})
        return book.currency
    if not currency:
        if options.format != PriceImport.Format.LITELLM:
            raise ValidationError({"currency": _("A new book needs a currency.")})
        currency = "USD"  # LiteLLM states every price in US dollars.
    try:
        currency_validator(currency)
    except ValidationError as exc:
        raise ValidationError({"currency": exc.messages}) from None
    return currency


def _compare(book: PriceBook, changes: list[ModelChange], at: datetime, errors: ErrorList) -> None:
    model_ids = [c.model.pk for c in changes if c.model is not None]
    entries: dict[int, list[PriceEntry]] = {}
    entries_of = PriceEntry.objects.filter(book=book, model_id__in=model_ids)
    for entry in entries_of.prefetch_related("tiers", "windows"):
        entries.setdefault(entry.model_id, []).append(entry)
    for change in changes:
        if change.model is None:
            continue
        history = entries.get(change.model.pk, [])
        later = [e for e in history if e.effective_from >= at]
        if len(later) == 1 and later[0].effective_from == at and not entry_diff(later[0], change.item):
            # The same file imported again at the same date: nothing to do, not a conflict.
            change.status = UNCHANGED
            continue
        if later:
            spans = "; ".join(span_label(e.effective_from, e.effective_to) for e in later)
            errors.add(
                change.item.ref,
                "effective_from",
                _(
                    "%(book)s already prices %(model)s from %(spans)s, not before %(at)s; "
                    "import with a later effective date."
                )
                % {
                    "book": book.name,
                    "model": change.model.name,
                    "spans": spans,
                    "at": f"{at:%Y-%m-%d %H:%M}",
                },
            )
            continue
        current = next((e for e in history if e.effective_to is None or e.effective_to > at), None)
        if current is None:
            continue
        change.changes = entry_diff(current, change.item)
        change.status = CHANGED if change.changes else UNCHANGED


class SkipGroup(NamedTuple):
    """The entries skipped for one reason: the reason (its quoted values as "…"), their names and the
    reason as stored text (its quoted values as "…" too; None: a reason stored without one)."""

    reason: str
    names: list[str]
    message: dict | None


def skip_groups(skipped) -> list[SkipGroup]:
    """Skipped entries (``[name, reason]`` or ``[name, reason, message]``) by reason, most entries first;
    reasons differing only in a quoted value (a provider's or model's name) are one group."""
    groups: dict[str, SkipGroup] = {}
    for name, reason, *message in skipped:
        key = QUOTED.sub("…", reason)
        if key not in groups:
            groups[key] = SkipGroup(key, [], _unquoted(message[0]) if message else None)
        groups[key].names.append(name)
    return sorted(groups.values(), key=lambda group: (-len(group.names), group.reason))


def skip_stored(reason: str) -> dict | None:
    """A skip reason (as the parsers write it) as stored text, or None when no template reads it."""
    return stored_match(reason, ("catalog.import.skip.",), frozenset({"problem"}))


def _unquoted(message: dict | None) -> dict | None:
    """``message`` with its quoted parameters as "…", as its group shows it."""
    if not message:
        return message
    params = {
        name: _unquoted(v) if isinstance(v, dict) else QUOTED.sub("…", v) if isinstance(v, str) else v
        for name, v in message.get("params", {}).items()
    }
    return {**message, "params": params}
