"""``manage.py import_upstream FILE --format FORMAT [--channel NAME] [--preview] [--output text|json]``.

Exit status: 0 when every row was read; 2 when some rows were rejected (the good ones are kept, or shown
by a preview); 1 when the file as a whole was refused (nothing imported) or the channel is unknown.
"""

import json
import sys

from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from billing.upstream.imports.report import TEXT_COUNTS, import_dict
from billing.upstream.imports.services import upstream_import
from billing.upstream.models import UpstreamImport
from catalog.selectors.channels import channels_resolve


class Command(BaseCommand):
    help = "Import or preview a vendor usage or invoice file (OpenAI, Anthropic, OpenRouter, generic, bills)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="The file, or - for standard input.")
        parser.add_argument("--format", required=True, choices=UpstreamImport.Format.values, dest="fmt")
        parser.add_argument("--channel", help="The channel (name or alias) every row is for.")
        parser.add_argument("--preview", action="store_true", help="Show what would change; store nothing.")
        parser.add_argument("--output", choices=["text", "json"], default="text")

    def handle(self, *args, file, fmt, channel, preview, output, **options):
        chosen = None
        if channel:
            chosen = channels_resolve({channel}).get(channel.lower())
            if chosen is None:
                raise CommandError(f"{channel!r} is no channel's name or alias.")
        try:
            if file == "-":
                content, name = sys.stdin.buffer.read(), "stdin"
            else:
                with open(file, "rb") as handle:
                    content, name = handle.read(), file.rsplit("/", 1)[-1]
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}.") from exc
        record = upstream_import(content=content, filename=name, fmt=fmt, channel=chosen, preview=preview)
        if output == "json":
            self.stdout.write(json.dumps(import_dict(record), indent=2, ensure_ascii=False))
        else:
            self._text(record)
        if record.state == UpstreamImport.State.FAILED:
            raise CommandError(f"{name}: {record.errors[0]['message']}")
        if record.rejected:
            raise CommandError(f"{record.rejected} row(s) rejected; the others were read.", returncode=2)

    def _text(self, record: UpstreamImport) -> None:
        write = self.stdout.write
        if record.state == UpstreamImport.State.FAILED:
            return
        verb = "Would store" if record.state == UpstreamImport.State.PREVIEW else "Stored"
        write(
            f"{record.filename} ({record.fmt}): {record.rows} rows read, {record.rejected} rejected. "
            f"{verb}: {record.created} new, {record.updated} changed, {record.unchanged} unchanged."
        )
        for row in import_dict(record)["stored"]:
            if "number" in row:
                write(
                    f"  {row['outcome']:<9} row {row['row']}: {row['channel']} {row['number']} {row['kind']} "
                    f"{row['month']} {row['amount']} {row['currency']}"
                )
                continue
            counts = " ".join(f"{name}={row[name]}" for name in TEXT_COUNTS)
            cost = f" cost={row['cost']} {row['currency']}" if row["cost"] is not None else ""
            batch = " batch" if row["batch"] else ""
            write(
                f"  {row['outcome']:<9} {row['channel']} {row['day']} {row['model']}{batch}: {counts}{cost}"
            )
            for name, (old, new) in row["changes"].items():
                write(f"            {name}: {old} -> {new}")
        for error in record.errors:
            where = f" ({error['where']})" if error.get("where") else ""
            self.stderr.write(f"  row {error['row']}{where}, {error['field']}: {error['message']}")
        if record.state == UpstreamImport.State.PREVIEW:
            path = reverse("upstream-import-detail", args=[record.pk])
            write(f"Preview only: nothing was stored. Apply it on the page {path}, or run without --preview.")
