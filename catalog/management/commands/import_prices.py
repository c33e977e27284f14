"""``import_prices FILE --format litellm|csv --book NAME --kind list|cost|sell [--effective DATE]``, or
``import_prices FILE --format litellm --provider bedrock`` (a reseller's entries into its channel's
cost book)."""

from datetime import date, datetime, time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from catalog.models import BookKind, PriceImport
from catalog.services.imports.apply import (
    ImportOptions,
    price_import_record,
    price_import_record_apply,
    skip_groups,
)

# Names shown per group of skipped entries (all of them with --verbosity 2).
NAMES_SHOWN = 10


def parse_effective(value: str | None) -> datetime:
    """A date means its midnight in the operator's time zone; a full ISO time is taken as given."""
    if not value:
        return timezone.now()
    try:
        if "T" in value or " " in value:
            moment = datetime.fromisoformat(value)
        else:
            moment = datetime.combine(date.fromisoformat(value), time.min)
    except ValueError:
        raise CommandError(f"--effective: {value!r} is not a date (YYYY-MM-DD) or ISO date-time.") from None
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


class Command(BaseCommand):
    help = (
        "Import prices into a price book from LiteLLM's model_prices_and_context_window.json or our CSV. "
        "Shows the diff against current prices, then applies it all or nothing (unless --dry-run)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--format", required=True, choices=PriceImport.Format.values)
        parser.add_argument("--book", default="", help="Price book name; created if missing.")
        parser.add_argument("--kind", default="", choices=BookKind.values)
        parser.add_argument(
            "--provider",
            default="",
            help="A LiteLLM reseller provider mapped to a channel: its entries into the channel's cost book.",
        )
        parser.add_argument("--effective", help="When the prices take effect (default: now).")
        parser.add_argument("--currency", default="", help="Currency of a new book (LiteLLM: USD).")
        parser.add_argument(
            "--vendor", default="", help="Only this vendor's models; vendor of created models."
        )
        parser.add_argument("--create-models", action="store_true", help="Create models the catalog lacks.")
        parser.add_argument("--dry-run", action="store_true", help="Show the diff, change nothing.")

    def handle(self, *args, **opts):
        if not opts["provider"] and not (opts["book"] and opts["kind"]):
            raise CommandError("Name the --book and its --kind, or a channel's --provider.")
        self.verbosity = opts["verbosity"]
        try:
            with open(opts["file"], encoding="utf-8-sig") as handle:
                content = handle.read()
        except OSError as exc:
            raise CommandError(f"Cannot read {opts['file']}: {exc}") from None
        except UnicodeDecodeError as exc:
            raise CommandError(
                f"{opts['file']} is not UTF-8 text (byte {exc.start}): save it as UTF-8 and import it again."
            ) from None
        options = ImportOptions(
            format=opts["format"],
            book_name=opts["book"],
            kind=opts["kind"],
            effective_from=parse_effective(opts["effective"]),
            currency=opts["currency"],
            vendor_slug=opts["vendor"],
            create_models=opts["create_models"],
            provider=opts["provider"],
        )
        try:
            record, preview = price_import_record(content=content, options=options, filename=opts["file"])
        except ValidationError as exc:
            raise CommandError("Import refused, nothing changed:\n  " + "\n  ".join(exc.messages)) from None
        self._print_diff(preview)
        if opts["dry_run"]:
            record.status = PriceImport.Status.DISCARDED
            record.save(update_fields=["status"])
            self.stdout.write("Dry run: nothing applied.")
            return
        try:
            result = price_import_record_apply(record)
        except ValidationError as exc:
            raise CommandError("Import refused, nothing changed:\n  " + "\n  ".join(exc.messages)) from None
        self.stdout.write(self.style.SUCCESS(f"Applied import #{record.pk} to {preview.options.book_name}."))
        for finding in result.findings:
            self.stdout.write(self.style.WARNING(f"  {finding.describe()}"))

    def _print_diff(self, preview) -> None:
        counts = preview.counts()
        new_book = ", new book" if preview.book is None else ""
        self.stdout.write(
            f"{preview.options.book_name} ({preview.options.kind}, {preview.currency}{new_book}) "
            f"from {preview.options.effective_from:%Y-%m-%d %H:%M}: "
            f"{counts['new']} new, {counts['changed']} changed, {counts['unchanged']} unchanged, "
            f"{counts['skipped']} skipped, {counts['normalised']} values normalised."
        )
        for change in preview.changes:
            if change.status == "unchanged":
                continue
            created = " (model created)" if change.model is None else ""
            self.stdout.write(f"  {change.status:9} {change.name}{created}")
            for tier, field, old, new in change.changes:
                self.stdout.write(f"            {tier} {field}: {old or '—'} → {new or '—'}")
        for reason, names, _message in skip_groups(preview.skipped):
            self.stdout.write(f"  skipped   {len(names)} × {reason}")
            self._names(names)
        if preview.normalised:
            self.stdout.write(f"  normalised {len(preview.normalised)} values written as float noise:")
            self._names(
                [f"{name} {key}: {written} → {read}" for name, key, written, read in preview.normalised]
            )
        for provider, count in preview.unmapped:
            self.stdout.write(
                f"  unmapped provider {provider}: {count} entries (map it on the provider mappings page)"
            )

    def _names(self, lines: list[str]) -> None:
        shown = lines if self.verbosity >= 2 else lines[:NAMES_SHOWN]
        for line in shown:
            self.stdout.write(f"              {line}")
        if len(lines) > len(shown):
            self.stdout.write(
                f"              … and {len(lines) - len(shown)} more (--verbosity 2 lists them)"
            )
