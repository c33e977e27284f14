"""``manage.py usage_retention --keep-months N [--dry-run]``: drop raw usage events older than N months.

Rollups, batches and postings are kept; only raw events (and their dedupe keys) go. On PostgreSQL whole
monthly partitions are dropped; on SQLite rows are deleted.
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from billing.usage.retention import usage_retention


class Command(BaseCommand):
    help = "Drop raw usage events older than --keep-months whole months (rollups are kept)."

    def add_arguments(self, parser):
        parser.add_argument("--keep-months", type=int, required=True)
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, **options):
        if options["keep_months"] < 1:
            raise CommandError("Keep at least one month.")
        report = usage_retention(
            keep_months=options["keep_months"], now=timezone.now(), dry_run=options["dry_run"]
        )
        self.stdout.write(f"Horizon {report['before']}: {report['dropped']}")
