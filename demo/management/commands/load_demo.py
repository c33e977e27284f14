import logging
from contextlib import contextmanager

from django.core import mail
from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from demo.accounts import DEMO_PASSWORD, DEMO_TOTP_SECRETS
from demo.loader import demo_load, demo_refusal

# A server listening on every interface is reached on this machine through localhost.
_ALL_INTERFACES = {"0.0.0.0", "::", "[::]"}


def sign_in_url(host: str, port: int) -> str:
    if host in _ALL_INTERFACES:
        host = "localhost"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}/"


@contextmanager
def _quietly():
    """Load without printing what the demo's own events send and log.

    The demo closes a period, raises price alerts and runs wallets low, as a real month would: with the
    console e-mail backend and in-process tasks each notice would scroll the sign-in lines off the screen.
    The e-mails are kept in memory (counted, not sent) and routine INFO logging is held back.
    """
    mail.outbox = []
    logging.disable(logging.INFO)
    try:
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
            yield mail.outbox
    finally:
        logging.disable(logging.NOTSET)


class Command(BaseCommand):
    help = "Load the demo data set (idempotent) and print one login per role (development only)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="address the server listens on (make HOST)")
        parser.add_argument("--port", type=int, default=8000, help="port the server listens on (make PORT)")

    def handle(self, *args, host: str, port: int, **options):
        if refusal := demo_refusal("load_demo"):
            raise CommandError(refusal)
        with _quietly() as outbox:
            logins = demo_load()
            held = len(outbox)
        url = sign_in_url(host, port)
        self.stdout.write(self.style.SUCCESS(_("Demo data ready. Sign in at %(url)s with:") % {"url": url}))
        width = max(len(email) for _label, email in logins)
        for label, email in logins:
            self.stdout.write(f"  {email.ljust(width)}  {label}")
        password = _("password for every demo user: %(password)s") % {"password": DEMO_PASSWORD}
        self.stdout.write(f"  {password}")
        secrets = ", ".join(f"{email.split('@')[0]}={secret}" for email, secret in DEMO_TOTP_SECRETS.items())
        two_factor = _(
            "two-factor (every staff user must enter a code): TOTP secrets %(secrets)s — or run "
            "`make totp` for the current codes."
        ) % {"secrets": secrets}
        self.stdout.write(f"  {two_factor}")
        if held:
            self.stdout.write(
                "  "
                + ngettext(
                    "%(count)d notification e-mail the demo raised (price alerts, low balances) was not "
                    "sent; its alerts are on the dashboard.",
                    "%(count)d notification e-mails the demo raised (price alerts, low balances) were not "
                    "sent; their alerts are on the dashboard.",
                    held,
                )
                % {"count": held}
            )
