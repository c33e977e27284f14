"""python manage.py ecl --as-of DATE [--rates R1,R2,R3,R4,R5] [--book CODE] [--post] [--format json|text]

A currency without a rate into the base currency does not stop the report or the posting (both are per
currency): the base view is left out and ``missing_rates`` names the pair. Derived rates pool the history in
the base currency, so there a missing rate is an error naming the pairs, and nothing is posted.
"""

import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Customer
from billing.exposure.ecl import DerivedRatesMissing, EclInputError, ecl_measure, rates_parse
from billing.exposure.ecl_history import EclError
from billing.exposure.ecl_json import report_json, report_text
from billing.exposure.ecl_post import ecl_post
from billing.exposure.models import EclRun
from billing.ledger.exceptions import LedgerError


class Command(BaseCommand):
    help = (
        "Measure expected credit loss at the end of a day by provision matrix (IFRS 9 simplified approach): "
        "receivables open then by aging bucket (current, 1-30, 31-60, 61-90, over 90 days past due), the "
        "loss rate of each bucket in percent, the ECL per bucket (gross x rate, rounded once to the "
        "currency's minor unit) and their total, the allowance held and the change. Without --rates, the "
        "provision matrix configured on the ECL page (entered rates, or derived from history). With "
        "--post, book the change: Dr bad-debt expense / Cr allowance for doubtful debts (a release the "
        "other way), one run per currency with the matrix used; running it again posts nothing twice. "
        "Amounts are decimal strings; the top level is in the base currency, 'currencies' per currency. A "
        "currency with no rate into the base currency is listed in 'missing_rates' and the base amounts are "
        "null; its own figures and its posting are not affected (derived rates need every rate: an error)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--as-of", dest="as_of", required=True, help="The day, YYYY-MM-DD (today or earlier)."
        )
        parser.add_argument(
            "--rates",
            help="Five loss rates in percent, comma-separated, for current, 1-30, 31-60, 61-90 and over 90 "
            "days: 11,15,25,31,100. Default: the configured matrix.",
        )
        parser.add_argument(
            "--book", help="A resale sub-distributor's code: its own book. Default: the operator's book."
        )
        parser.add_argument("--post", action="store_true", help="Book the change in the allowance.")
        parser.add_argument("--format", dest="fmt", default="json", help="json (default) or text.")

    def handle(self, *args, as_of, rates, book, post, fmt, **options):
        fmt = (fmt or "").lower()
        if fmt not in {"json", "text"}:
            raise CommandError(f"--format must be json or text, not {fmt!r}.")
        try:
            day = date.fromisoformat(as_of.strip())
        except ValueError:
            raise CommandError(f"--as-of: {as_of!r} is not a date; write it as YYYY-MM-DD.") from None
        book_id = self._book(book)
        try:
            given = rates_parse(rates) if rates is not None else None
            measure = ecl_measure(day, rates=given, book_id=book_id)
            runs = None
            if post:
                runs = ecl_post(day, origin=EclRun.Origin.COMMAND, rates=given, book_id=book_id)
            answer = report_json(measure, runs=runs)
        except EclInputError as error:
            option = {"as_of": "--as-of", "rates": "--rates", "book": "--book"}.get(error.field, error.field)
            raise CommandError(f"{option}: {error.message}") from None
        except (EclError, DerivedRatesMissing, LedgerError) as error:
            raise CommandError(str(error)) from None
        if fmt == "json":
            self.stdout.write(json.dumps(answer, indent=2, ensure_ascii=False))
        else:
            self.stdout.write(report_text(answer))

    def _book(self, code: str | None) -> int | None:
        if not code:
            return None
        seller = Customer.objects.filter(code=code).first()
        if seller is None:
            raise CommandError(f"--book: no customer with code {code!r}.")
        if not seller.is_reseller:
            raise CommandError(f"--book: {code!r} is not a resale sub-distributor; it keeps no book.")
        return seller.pk
