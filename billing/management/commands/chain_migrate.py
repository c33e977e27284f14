from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.models import Customer
from billing.chain.migrate import MigrationRefused, migration_apply, migration_plan


class Command(BaseCommand):
    help = (
        "Move a sub-distributor into the distribution chain (resale: its customers' current plans become its "
        "retail plans and their prepaid credit moves into its book) or back out of it (direct, only with an "
        "empty book). Prints what would happen; --apply does it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--sub-distributor", required=True, help="The sub-distributor's code.")
        parser.add_argument("--mode", required=True, choices=["resale", "direct"])
        parser.add_argument(
            "--wholesale-plan",
            default="",
            help="The plan of its seller (the operator, or the reseller above it) that it buys at "
            "(default: its current plan).",
        )
        parser.add_argument(
            "--at", help="When the switch applies, ISO 8601 (default: now); not before its latest usage."
        )
        parser.add_argument("--apply", action="store_true", help="Do it (default: a dry run).")

    def handle(self, *args, sub_distributor, mode, wholesale_plan="", at=None, apply=False, **options):
        sub = Customer.objects.filter(code=sub_distributor).first()
        if sub is None:
            raise CommandError(f"--sub-distributor: no customer has the code {sub_distributor!r}.")
        when = None
        if at:
            try:
                when = datetime.fromisoformat(at)
            except ValueError as exc:
                raise CommandError(f"--at: {at!r} is not an ISO 8601 date and time.") from exc
            if timezone.is_naive(when):
                when = timezone.make_aware(when)
        plan = migration_plan(sub=sub, mode=mode, at=when, wholesale_plan=wholesale_plan)
        for line in plan.describe():
            self.stdout.write(line)
        if plan.refusals:
            raise CommandError(f"{len(plan.refusals)} problem(s): nothing was changed.")
        if not apply:
            self.stdout.write("Dry run: nothing was changed. Run again with --apply to do it.")
            return
        try:
            migration_apply(plan)
        except (MigrationRefused, ValidationError) as exc:
            raise CommandError(f"Refused, nothing was changed: {exc}") from exc
        self.stdout.write(f"Done: {sub.code} is now {mode}.")
