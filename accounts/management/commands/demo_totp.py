import time

from allauth.mfa import app_settings
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.demo import DEMO_TOTP_SECRETS


class Command(BaseCommand):
    help = "Print the current two-factor codes of the demo users (development only)."

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("demo_totp is for development only.")
        counter = int(time.time()) // app_settings.TOTP_PERIOD
        for email, secret in DEMO_TOTP_SECRETS.items():
            self.stdout.write(f"{email}: {format_hotp_value(hotp_value(secret, counter))}")
