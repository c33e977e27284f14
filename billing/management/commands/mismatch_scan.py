"""python manage.py mismatch_scan --from DATE --to DATE"""

from datetime import date

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from billing.upstream.mismatch.services import mismatch_scan


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{option}: {value!r} is not a date (YYYY-MM-DD).") from None


class Command(BaseCommand):
    help = (
        "Run the 货不对版 (model mismatch) signals over the operator's days FROM to TO (inclusive) and store "
        "their flags: responses reporting another model, prompt or output tokens per request shifted from "
        "the model's other channels, vendor charges matching another model's prices. Re-running changes "
        "nothing unless the records did; prints the counts of new, changed, unchanged and removed flags."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="date_from", required=True, help="First day, YYYY-MM-DD.")
        parser.add_argument("--to", dest="date_to", required=True, help="Last day (inclusive), YYYY-MM-DD.")

    def handle(self, *args, date_from, date_to, **options):
        start, end = _day(date_from, "--from"), _day(date_to, "--to")
        try:
            result = mismatch_scan(date_from=start, date_to=end)
        except ValidationError as exc:
            messages = [m for ms in exc.message_dict.values() for m in ms]
            raise CommandError("--to: " + " ".join(messages)) from None
        self.stdout.write(
            f"{start}..{end}: {result.created} new, {result.updated} changed, "
            f"{result.unchanged} unchanged, {result.removed} removed flags"
        )
