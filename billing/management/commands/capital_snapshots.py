"""python manage.py capital_snapshots [--day D | --since D] [--format text|json]: take working-capital
snapshots of ended days from the ledger."""

import json
from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from billing.exposure.snapshots import snapshot_take

MAX_DAYS = 3660


def _day(option: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{option}: {value!r} is not a date (YYYY-MM-DD).") from exc


class Command(BaseCommand):
    help = (
        "Compute the dashboard's figures (funded float and its terms, overdue, revenue and cost, the cash "
        "conversion cycle, the largest exposures) of ended days from the ledger as of each day's end and "
        "store them, replacing any earlier snapshot of the day. Default: yesterday. Safe to re-run."
    )

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--day", help="YYYY-MM-DD: this one ended day.")
        group.add_argument("--since", help="YYYY-MM-DD: every day from this one to yesterday.")
        parser.add_argument("--format", choices=("text", "json"), default="text")

    def handle(self, *args, day=None, since=None, format="text", **options):
        yesterday = timezone.localdate() - timedelta(days=1)
        if day:
            first = last = _day("--day", day)
        elif since:
            first, last = _day("--since", since), yesterday
        else:
            first = last = yesterday
        option = "--since" if since else "--day"
        if last > yesterday:
            raise CommandError(f"{option}: {last} has not ended yet; only ended days are snapshotted.")
        if first > last:
            raise CommandError(f"{option}: {first} is after yesterday ({yesterday}).")
        if (last - first).days >= MAX_DAYS:
            raise CommandError(f"{option}: at most {MAX_DAYS} days at once.")
        taken = []
        current = first
        while current <= last:
            snapshot = snapshot_take(current)
            taken.append(
                {
                    "day": current.isoformat(),
                    "base_currency": snapshot.base_currency,
                    "funded_float": snapshot.figures["base"]["funded_float"],
                    "missing_rates": snapshot.figures["missing_rates"],
                }
            )
            current += timedelta(days=1)
        if format == "json":
            self.stdout.write(json.dumps({"snapshots": taken}, indent=2))
            return
        for row in taken:
            missing = f" (no rate: {', '.join(row['missing_rates'])})" if row["missing_rates"] else ""
            self.stdout.write(
                f"{row['day']}: funded float {row['funded_float']} {row['base_currency']}{missing}"
            )
        self.stdout.write(f"{len(taken)} snapshot(s) taken.")
