"""python manage.py statement --customer ID|CODE --from DATE --to DATE --format pdf|csv --out PATH"""

import datetime as dt
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Customer
from billing.documents.pdf import statement_pdf
from billing.statements.build import StatementReconciliationError, statement_build
from billing.statements.exports import statement_csv_rows


def _date(value: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{option} must be a date as YYYY-MM-DD, not {value!r}.") from None


class Command(BaseCommand):
    help = "Write a customer's statement of account for a period as a PDF or CSV file."

    def add_arguments(self, parser):
        parser.add_argument("--customer", required=True, help="Customer id or code.")
        parser.add_argument("--from", dest="date_from", required=True, help="First day, YYYY-MM-DD.")
        parser.add_argument("--to", dest="date_to", required=True, help="Last day, YYYY-MM-DD.")
        parser.add_argument("--format", dest="fmt", default="pdf", help="pdf (default) or csv.")
        parser.add_argument("--out", required=True, help="File to write; its folder must exist.")

    def handle(self, *args, customer, date_from, date_to, fmt, out, **options):
        fmt = fmt.lower()
        if fmt not in {"pdf", "csv"}:
            raise CommandError(f"--format must be pdf or csv, not {fmt!r}.")
        start, end = _date(date_from, "--from"), _date(date_to, "--to")
        if start > end:
            raise CommandError(f"--from ({start}) is after --to ({end}).")
        lookup = {"pk": int(customer)} if customer.isdigit() else {"code": customer}
        found = Customer.objects.filter(**lookup).first()
        if found is None:
            raise CommandError(f"--customer: no customer with id or code {customer!r}.")
        path = Path(out)
        if not path.parent.is_dir():
            raise CommandError(f"--out: the folder {str(path.parent)!r} does not exist.")
        try:
            statement = statement_build(found, start, end, strict=True)
        except StatementReconciliationError as error:
            raise CommandError(f"The statement does not reconcile with the ledger: {error}") from None
        if fmt == "pdf":
            path.write_bytes(statement_pdf(statement))
        else:
            with path.open("w", encoding="utf-8", newline="") as handle:
                handle.writelines(statement_csv_rows(statement))
        closings = [f"{s.kind} {s.currency} {s.closing:f}" for s in statement.sections]
        closing = ", ".join(closings) or "no accounts"
        self.stdout.write(f"Wrote {path} ({fmt}); closing: {closing}.")
