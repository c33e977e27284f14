"""``manage.py import_open_items FILE --format csv [--kind receivables|deposits|upstream] [--dry-run]
[--output text|json]``: import the open items of a distributor moving in (``billing.opening``).

All or nothing. Exit status: 0 when every row was applied or found already imported (with ``--dry-run``:
when every row could be); 1 when any row is in error or the file cannot be read — nothing was applied,
and every error is printed with its row and field.
"""

import json
import sys

from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from billing.opening.models import OpeningImport
from billing.opening.report import import_dict, text_line
from billing.opening.services import opening_import

State = OpeningImport.State


class Command(BaseCommand):
    help = "Import open receivables, customer deposits or upstream prepaid balances from a CSV file."

    def add_arguments(self, parser):
        parser.add_argument("file", help="The file, or - for standard input.")
        parser.add_argument("--format", choices=["csv"], default="csv", dest="fmt", help="The file's format.")
        parser.add_argument(
            "--kind", choices=OpeningImport.Kind.values, default=OpeningImport.Kind.RECEIVABLES
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Check and show what would be done; write nothing."
        )
        parser.add_argument("--output", choices=["text", "json"], default="text")

    def handle(self, *args, file, fmt, kind, dry_run, output, **options):
        try:
            if file == "-":
                content, name = sys.stdin.buffer.read(), "stdin"
            else:
                with open(file, "rb") as handle:
                    content, name = handle.read(), file.rsplit("/", 1)[-1]
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}.") from exc
        record = opening_import(content=content, filename=name, kind=kind, apply=not dry_run)
        report = import_dict(record)
        if output == "json":
            self.stdout.write(json.dumps(report, indent=2, ensure_ascii=False))
        else:
            self._text(record, report)
        if report["errors"]:
            raise CommandError(
                f"{name}: {len(report['errors'])} error(s) in {record.rejected or 'the file'}"
                f"{' row(s)' if record.rejected else ''}; nothing was applied.",
                returncode=1,
            )

    def _text(self, record: OpeningImport, report: dict) -> None:
        write = self.stdout.write
        if report["items"]:
            new = sum(1 for item in report["items"] if item["outcome"] == "created")
            write(
                f"{record.filename} ({record.kind}): {record.rows} rows; {new} new, {record.unchanged} "
                f"already imported, {record.rejected} in error."
            )
            for item in report["items"]:
                write(text_line(item))
            for currency, total in record.totals.items():
                write(
                    f"Total {currency}: {total['amount']} in {total['rows']} rows, {total['new']} of it new."
                )
        for error in report["errors"]:
            if error["row"]:
                self.stderr.write(f"  row {error['row']}, {error['field']}: {error['message']}")
            else:
                self.stderr.write(f"  {error['message']}")
        if record.state == State.APPLIED:
            write(
                f"Applied: {record.created} created, {record.unchanged} already imported "
                f"(import #{record.pk})."
            )
        elif record.state == State.PREVIEW:
            if report["errors"]:
                write("Dry run: nothing was written; fix the errors and run it again.")
            else:
                path = reverse("opening-import-detail", args=[record.pk])
                write(f"Dry run: nothing was written. Apply it on the page {path}, or run without --dry-run.")
        else:
            write("Nothing was applied: fix the errors and run it again.")
