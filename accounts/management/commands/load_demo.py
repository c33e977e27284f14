from django.core.management.base import BaseCommand

from accounts.demo import DEMO_PASSWORD, DEMO_TOTP_SECRETS
from distributor.demo import demo_load


class Command(BaseCommand):
    help = "Load the demo data set (idempotent) and print one login per role."

    def handle(self, *args, **options):
        logins = demo_load()
        self.stdout.write(self.style.SUCCESS("Demo data ready. Sign in at http://localhost:8000/ with:"))
        width = max(len(role) for role, _ in logins)
        for role, email in logins:
            self.stdout.write(f"  {role.ljust(width)}  {email}")
        self.stdout.write(f"  password for every demo user: {DEMO_PASSWORD}")
        self.stdout.write(
            "  two-factor (admin, finance): TOTP secrets "
            + ", ".join(f"{email.split('@')[0]}={secret}" for email, secret in DEMO_TOTP_SECRETS.items())
            + " — or run `make totp` for the current codes."
        )
