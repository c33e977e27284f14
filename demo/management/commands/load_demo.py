from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

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


class Command(BaseCommand):
    help = "Load the demo data set (idempotent) and print one login per role (development only)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="address the server listens on (make HOST)")
        parser.add_argument("--port", type=int, default=8000, help="port the server listens on (make PORT)")

    def handle(self, *args, host: str, port: int, **options):
        if refusal := demo_refusal("load_demo"):
            raise CommandError(refusal)
        logins = demo_load()
        url = sign_in_url(host, port)
        self.stdout.write(self.style.SUCCESS(_("Demo data ready. Sign in at %(url)s with:") % {"url": url}))
        width = max(len(role) for role, _email in logins)
        for role, email in logins:
            self.stdout.write(f"  {role.ljust(width)}  {email}")
        password = _("password for every demo user: %(password)s") % {"password": DEMO_PASSWORD}
        self.stdout.write(f"  {password}")
        secrets = ", ".join(f"{email.split('@')[0]}={secret}" for email, secret in DEMO_TOTP_SECRETS.items())
        two_factor = _(
            "two-factor (every staff user must enter a code): TOTP secrets %(secrets)s — or run "
            "`make totp` for the current codes."
        ) % {"secrets": secrets}
        self.stdout.write(f"  {two_factor}")
