"""python manage.py chain_report --period YYYY-MM --format json|csv [--currency C] [--seller CODE]"""

import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Customer
from billing.chain.report import (
    EVERY_BOOK,
    OPERATOR,
    hop_report,
    report_csv_rows,
    report_currencies,
    report_json,
)
from billing.invoicing.periods import PeriodError, period_parse
from common.csv_export import csv_lines


class Command(BaseCommand):
    help = (
        "Print the margin of every seller → buyer hop of the distribution chain for a month and one "
        "currency, as JSON (a list of objects) or CSV, with exactly the fields seller, buyer, mode, "
        "revenue, cost, margin, requests, tokens. seller and buyer are customer codes ('operator' for the "
        "operator); mode is resale, agency or direct; cost is the seller's buy price of what it sold "
        "(contract cost for the operator) plus any agent's commission. Amounts are decimal strings rounded "
        "once, half up, to the currency's minor unit (billing.money.quantize_money), and margin is the "
        "rounded revenue less the rounded cost, so each row adds up as printed; --exact prints them at "
        "the ledger's precision (12 places) instead."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--period", required=True, help="The month, YYYY-MM (a quarter YYYY-QN works too)."
        )
        parser.add_argument(
            "--currency",
            help="ISO code of the sell currency; default: the currency with the most revenue in the period "
            f"(or {settings.BASE_CURRENCY} when there is none). Written to stderr.",
        )
        parser.add_argument(
            "--seller", help="Only this seller's hops: a customer code, or 'operator'. Default: every seller."
        )
        parser.add_argument("--format", dest="fmt", default="json", help="json (default) or csv.")
        parser.add_argument("--exact", action="store_true", help="Amounts at full precision, not rounded.")

    def handle(self, *args, period, currency, seller, fmt, exact, **options):
        fmt = fmt.lower()
        if fmt not in {"json", "csv"}:
            raise CommandError(f"--format must be json or csv, not {fmt!r}.")
        try:
            period = period_parse(period)
        except PeriodError as error:
            raise CommandError(f"--period: {error}") from None
        book = EVERY_BOOK
        if seller == OPERATOR:
            book = None
        elif seller:
            book = Customer.objects.filter(code=seller).first()
            if book is None:
                raise CommandError(f"--seller: no customer with code {seller!r}.")
        if currency:
            currency = currency.upper()
        else:
            currency = next(iter(report_currencies(period, book=book)), settings.BASE_CURRENCY)
            self.stderr.write(f"Currency: {currency}")
        report = hop_report(period, currency, book=book)
        if fmt == "json":
            self.stdout.write(json.dumps(report_json(report, exact=exact), indent=2, ensure_ascii=False))
        else:
            self.stdout.write("".join(csv_lines(report_csv_rows(report, exact=exact))), ending="")
