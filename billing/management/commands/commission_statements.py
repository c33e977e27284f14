from django.core.management.base import BaseCommand, CommandError

from accounts.models import Customer
from billing.chain.commission import commission_statements_issue
from billing.invoicing.periods import PeriodError, period_just_ended, period_parse
from billing.money import money_text


class Command(BaseCommand):
    help = (
        "Issue (or bring up to date) the monthly commission statements of agency sub-distributors, from the "
        "commission payable in the ledger. Safe to re-run."
    )

    def add_arguments(self, parser):
        parser.add_argument("--period", help="YYYY-MM; default: the month that just ended.")
        parser.add_argument("--agent", help="Only this agency sub-distributor (its code).")

    def handle(self, *args, period=None, agent=None, **options):
        try:
            target = period_parse(period) if period else period_just_ended()
        except PeriodError as exc:
            raise CommandError(f"--period: {exc}") from exc
        if target.is_quarter:
            raise CommandError("--period: commission statements are monthly (YYYY-MM).")
        only = None
        if agent:
            only = Customer.objects.filter(code=agent, chain_mode=Customer.ChainMode.AGENCY).first()
            if only is None:
                raise CommandError(f"--agent: no agency sub-distributor has the code {agent!r}.")
        statements = commission_statements_issue(target, agent=only)
        for s in statements:
            figures = " ".join(
                f"{name}={money_text(getattr(s, name), s.currency)}"
                for name in ("opening", "accrued", "settled", "closing")
            )
            self.stdout.write(f"{s.number} {s.agent.code} {s.currency} {figures} rev={s.revision}")
        self.stdout.write(f"{target.label}: {len(statements)} commission statements.")
