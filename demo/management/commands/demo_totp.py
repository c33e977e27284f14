import time

from allauth.mfa import app_settings
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.core.management.base import BaseCommand, CommandError

from demo.accounts import DEMO_TOTP_SECRETS
from demo.loader import demo_refusal


class Command(BaseCommand):
    help = "Print the current two-factor codes of the demo users (development only)."

    def handle(self, *args, **options):
        if refusal := demo_refusal("demo_totp"):
            raise CommandError(refusal)
        counter = int(time.time()) // app_settings.TOTP_PERIOD
        for email, secret in DEMO_TOTP_SECRETS.items():
            self.stdout.write(f"{email}: {format_hotp_value(hotp_value(secret, counter))}")
