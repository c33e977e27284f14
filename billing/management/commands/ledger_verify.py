from django.core.management.base import BaseCommand, CommandError

from billing.ledger.models import JournalTransaction, LedgerAccount
from billing.wallets.verify import books_problems


class Command(BaseCommand):
    help = "Recompute every balance from the journal and check every transaction sums to zero; exit 1 if not."

    def handle(self, *args, **options):
        problems = books_problems()
        if problems:
            for line in problems:
                self.stderr.write(line)
            raise CommandError(f"ledger_verify: {len(problems)} problem(s) found")
        self.stdout.write(
            self.style.SUCCESS(
                f"ledger_verify: OK — {LedgerAccount.objects.count()} accounts, "
                f"{JournalTransaction.objects.count()} transactions agree with their entries"
            )
        )
