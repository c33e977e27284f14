from django.core.management.base import BaseCommand, CommandError

from billing.ledger.models import LedgerAccount
from billing.ledger.selectors import book_find, book_of, book_totals, in_book
from billing.ledger.verify import book_ids, book_problems
from billing.wallets.verify import wallet_problems


class Command(BaseCommand):
    help = (
        "Check every book (the operator's and each resale sub-distributor's) on its own: its entries sum to "
        "zero per currency, its cached balances equal its entries, every entry is on an account of its "
        "transaction's book, and its wallet lots agree; exit 1 if not."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--book",
            metavar="CODE",
            help="Check one book only: a sub-distributor's customer code, or 'operator'.",
        )

    def handle(self, *args, **options):
        if options["book"] is not None:
            book = book_find(options["book"])
            if book is None:
                raise CommandError(
                    f"ledger_verify: no book {options['book']!r} (a customer code or 'operator')"
                )
            books = [book]
        else:
            books = [book_of(book_id) for book_id in book_ids()]
        failed = []
        count = 0
        for book in books:
            accounts = LedgerAccount.objects.filter(in_book("", book.pk))
            problems = book_problems(book.pk) + wallet_problems(accounts)
            if problems:
                failed.append(str(book))
                count += len(problems)
                self.stdout.write(self.style.ERROR(f"book {book}: {len(problems)} problem(s)"))
                for line in problems:
                    self.stderr.write(f"[book {book}] {line}")
                continue
            totals = book_totals(book.pk)
            self.stdout.write(
                self.style.SUCCESS(
                    f"book {book}: OK — {totals['accounts']} accounts, "
                    f"{totals['transactions']} transactions agree with their entries"
                )
            )
        if failed:
            raise CommandError(f"ledger_verify: {count} problem(s) found in book(s) {', '.join(failed)}")
        self.stdout.write(self.style.SUCCESS(f"ledger_verify: OK — {len(books)} book(s)"))
