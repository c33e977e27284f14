from django.core.management.base import BaseCommand, CommandError

from billing.ledger.models import JournalTransaction, LedgerAccount
from billing.ledger.verify import ledger_problems
from billing.wallets.verify import wallet_problems


class Command(BaseCommand):
    help = "Recompute every balance from the journal and check every transaction sums to zero; exit 1 if not."

    def handle(self, *args, **options):
        # The journal first, then the wallets' lots that must agree with it.
        problems = ledger_problems() + wallet_problems()
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
