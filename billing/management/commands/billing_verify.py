from django.core.management.base import BaseCommand, CommandError

from billing.invoicing.coverage import usage_coverage_problems


class Command(BaseCommand):
    help = (
        "Check that every rated usage event is accounted for by a wallet debit, an invoice or the open"
        " period's unbilled accrual; list what is not and exit 1."
    )

    def handle(self, *args, **options):
        problems = usage_coverage_problems()
        if problems:
            for line in problems:
                self.stderr.write(line)
            raise CommandError(f"billing_verify: {len(problems)} problem(s) found")
        self.stdout.write(self.style.SUCCESS("billing_verify: OK — every rated usage event is accounted for"))
