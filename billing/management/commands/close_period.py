"""python manage.py close_period --period 2026-10 (or 2026-Q3) [--book CODE|operator]: invoice credit
customers, state prepaid; every book, or one seller's."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Customer
from billing.invoicing.close.services import ALL_BOOKS, CloseError, close_period, close_refusal
from billing.invoicing.periods import PeriodError, period_parse, periods_just_ended
from billing.money import money_text


class Command(BaseCommand):
    help = (
        "Close a billing period: invoices for credit-term customers (monthly customers at month periods, "
        "quarterly ones at quarter periods), usage statements for prepaid customers. Safe to re-run."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--period",
            help="2026-10 (a month) or 2026-Q3 (a quarter). Default: the month that just ended (and its "
            "quarter if that ended too), in the operator's time zone.",
        )
        parser.add_argument("--issue-date", help="YYYY-MM-DD; default today in the operator's time zone.")
        parser.add_argument(
            "--book",
            help="Close one book only: a resale sub-distributor's code, or 'operator' for the operator's own "
            "customers. Default: every book.",
        )

    def handle(self, *args, period=None, issue_date=None, book=None, **options):
        scope = self._book(book)
        try:
            periods = [period_parse(period)] if period is not None else periods_just_ended()
        except PeriodError as exc:
            raise CommandError(f"--period: {exc}") from exc
        issued_on = None
        if issue_date:
            try:
                issued_on = date.fromisoformat(issue_date)
            except ValueError as exc:
                raise CommandError(f"--issue-date: {issue_date!r} is not a date (YYYY-MM-DD).") from exc
        try:
            for p in periods:
                close_refusal(p, issue_date=issued_on, book=scope)
        except CloseError as exc:
            raise CommandError(f"--period: {exc}") from exc
        for p in periods:
            result = close_period(p, issue_date=issued_on, book=scope)
            invoices = result.invoices
            issued = [i for i in invoices if i.number]
            self.stdout.write(
                f"{p.label} ({p.start} to {p.end}): {len(invoices)} invoices "
                f"({len(issued)} issued, {len(invoices) - len(issued)} drafts for review), "
                f"{len(result.statements)} usage statements."
            )
            for inv in invoices:
                total = money_text(inv.total, inv.currency)
                self.stdout.write(
                    f"  {inv.number or f'draft #{inv.pk}'}  {inv.customer}  {total} {inv.currency}"
                    f"  due {inv.due_date or '-'}"
                )

    def _book(self, code: str | None):
        if code is None:
            return ALL_BOOKS
        if code == "operator":
            return None
        seller = Customer.objects.filter(code=code).first()
        if seller is None or not seller.is_reseller:
            raise CommandError(f"--book: {code!r} is not a resale sub-distributor's code (or 'operator').")
        return seller
