"""python manage.py upstream_burn [--day DATE] [--no-alerts]: the upstream ledger's daily run for one day."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from billing.upstream.daily import upstream_daily_run


class Command(BaseCommand):
    help = (
        "Burn a day's consumption from each prepaid channel's packs (earliest expiry first), expire packs "
        "whose last day has passed, accrue ended commit periods' shortfalls and the previous month's "
        "volume-tier rebates, true up invoiced months for late usage, then send low-cover alerts — as the "
        "daily beat does the morning after DATE. "
        "Safe to re-run: a day burnt again posts only what changed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--day", help="YYYY-MM-DD, an ended day; default: yesterday.")
        parser.add_argument("--no-alerts", action="store_true", help="Do not send low-cover alerts.")

    def handle(self, *args, day=None, no_alerts=False, **options):
        today = timezone.localdate()
        if day:
            try:
                day = date.fromisoformat(day)
            except ValueError as exc:
                raise CommandError(f"--day: {day!r} is not a date (YYYY-MM-DD).") from exc
            if day >= today:
                raise CommandError(f"--day: {day} has not ended yet; its usage is still arriving.")
        result = upstream_daily_run(day=day, alerts=not no_alerts)
        self.stdout.write(
            f"{result.day}: {result.channels_burnt} channel(s) burnt, {result.draws} pack draw(s), "
            f"{result.days_reburnt} earlier day(s) burnt again for late usage, "
            f"{result.expired} pack(s) expired, {result.shortfalls} shortfall(s) and {result.rebates} "
            f"rebate(s) accrued, {result.true_ups} invoiced month(s) trued up for late usage, "
            f"{result.alerts} low-cover alert(s) sent."
        )
