"""python manage.py fx_revalue [--month 2026-11]: realised FX up to the month end, then its revaluation."""

import calendar
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from billing.fx.rates import FxRatesMissing
from billing.fx.realised import fx_realised_post
from billing.fx.revaluation import fx_revaluation_run


class Command(BaseCommand):
    help = (
        "Post realised FX on foreign-currency payments up to a month end, then revalue foreign-currency "
        "receivables, deposits and payables at the month-end rate (reversed on the 1st). Safe to re-run; "
        "a missing rate refuses the run and lists the pairs to enter."
    )

    def add_arguments(self, parser):
        parser.add_argument("--month", help="YYYY-MM; default: the month that just ended.")

    def handle(self, *args, month=None, **options):
        if month:
            try:
                first = date.fromisoformat(f"{month}-01")
            except ValueError as exc:
                raise CommandError(f"--month: {month!r} is not a month (YYYY-MM).") from exc
            month_end = first.replace(day=calendar.monthrange(first.year, first.month)[1])
        else:
            month_end = timezone.localdate().replace(day=1) - timedelta(days=1)
        try:
            realised = fx_realised_post(up_to=month_end)
            revalued = fx_revaluation_run(month_end=month_end)
        except FxRatesMissing as exc:
            raise CommandError(str(exc)) from exc
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(
            f"{month_end:%Y-%m}: {len(realised)} allocation(s) realised, {len(revalued)} account(s) revalued."
        )
