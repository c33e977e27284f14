"""Production settings serve pages: the app as `make serve-prod` runs it, signed in the way staff sign in.

The app runs in subprocesses with DISTRIBUTOR_ENV=production on a fresh PostgreSQL database of its own:
`migrate`, `createsuperuser` (the first admin, as the README says), `collectstatic` into a temporary
STATIC_ROOT, then gunicorn with gunicorn.conf.py. Requests arrive as from the HTTPS reverse proxy production
expects (X-Forwarded-Proto: https), so SSL redirect, secure cookies and HSTS stay on as deployed.
"""

import contextlib
import html.parser
import http.client
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urljoin, urlparse, urlsplit

import psycopg
import pytest
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from cryptography.fernet import Fernet
from django.conf import settings

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
ADMIN_EMAIL = "first-admin@operator.example.com"
ADMIN_PASSWORD = "a long first-admin passphrase 2026"
# What the subprocesses inherit; everything the app reads from the environment is set explicitly below.
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ")
HASHED_STATIC = re.compile(r"/static/[\w./-]+\.[0-9a-f]{12}\.(?:css|js|svg)")
CREATE_CUSTOMER = """
from accounts.models import Customer
from billing.terms.models import BillingTerms
from billing.terms.services import customer_onboard
customer = customer_onboard(
    name="Smoke Test Ltd", code="smoke-test", kind=Customer.Kind.END_CUSTOMER, parent=None, language="en",
    contact_email="ap@smoke-test.example.com", mode=BillingTerms.Mode.MONTHLY, currency="CNY",
)
print(customer.pk)
"""


@contextlib.contextmanager
def fresh_database():
    """A database of the test's own on the suite's PostgreSQL server, dropped afterwards: the URL."""
    db = settings.DATABASES["default"]
    name = f"distributor_prod_smoke_{secrets.token_hex(4)}"
    server = {"host": db["HOST"], "port": db["PORT"] or 5432, "user": db["USER"], "password": db["PASSWORD"]}
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlparse(settings.DATABASE_URL)._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@contextlib.contextmanager
def running(command: list[str], env: dict[str, str], log: Path):
    """Start ``command`` with its output in ``log``; stop it on the way out, whatever happened."""
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def totp_code(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // mfa_settings.TOTP_PERIOD))


class _SecretField(html.parser.HTMLParser):
    """The TOTP secret allauth shows on its enrolment page (input#authenticator_secret)."""

    secret = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "input" and attributes.get("id") == "authenticator_secret":
            self.secret = attributes.get("value")


class Browser:
    """Just enough of a browser behind the HTTPS proxy: its own cookies (all Secure), Origin on POST."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None, *, https: bool = True):
        headers = {"Host": f"127.0.0.1:{self.port}", "Accept-Language": "en"}
        if https:
            headers["X-Forwarded-Proto"] = "https"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if form is not None:
            form = {"csrfmiddlewaretoken": self.cookies.get("csrftoken", ""), **form}
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = f"https://127.0.0.1:{self.port}"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.content = response.read()
            response.path = path
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if morsel["max-age"] == "0":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return response

    def get(self, path: str, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path: str, form: dict):
        return self.request("POST", path, form)

    def follow(self, response, limit: int = 8):
        """Follow redirects to the page they end at."""
        for _ in range(limit):
            if response.status not in {301, 302, 303}:
                return response
            target = urlsplit(response.headers["Location"])
            response = self.get(urljoin("/", target.path) + (f"?{target.query}" if target.query else ""))
        raise AssertionError(f"more than {limit} redirects")


def wait_until_serving(browser: Browser, server: subprocess.Popen, log: Path, seconds: float = 30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, f"gunicorn exited:\n{log.read_text()}"
        with contextlib.suppress(OSError):
            return browser.get("/accounts/login/")
        time.sleep(0.25)
    raise AssertionError(f"gunicorn did not answer within {seconds} s:\n{log.read_text()}")


def sign_in(browser: Browser, *, code_for: str | None = None):
    """The real allauth sign-in: the form, then the code of the authenticator ``code_for`` (its secret)."""
    browser.get("/accounts/login/")
    response = browser.post("/accounts/login/", {"login": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert response.status == 302, response.content[:2000]
    if code_for is None:
        return browser.follow(response)
    assert urlsplit(response.headers["Location"]).path == "/accounts/2fa/authenticate/"
    # A password-only session reaches no staff page.
    assert browser.get("/dashboard/").status == 302
    return browser.follow(browser.post("/accounts/2fa/authenticate/", {"code": totp_code(code_for)}))


def test_production_settings_serve_pages_through_gunicorn(tmp_path):
    port = free_port()
    with fresh_database() as database_url:
        env = {name: os.environ[name] for name in INHERITED if name in os.environ} | {
            "DISTRIBUTOR_ENV": "production",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": database_url,
            "STATIC_ROOT": str(tmp_path / "static"),
            "MEDIA_ROOT": str(tmp_path / "media"),
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "WEB_CONCURRENCY": "2",
            "LOG_LEVEL": "WARNING",
        }
        # collectstatic needs no database: it runs while the schema is built and the first admin created.
        collect = [sys.executable, "manage.py", "collectstatic", "--noinput"]
        with running(collect, env, tmp_path / "collectstatic.log") as collecting:
            manage(env, "migrate", "--noinput")
            manage(
                env | {"DJANGO_SUPERUSER_EMAIL": ADMIN_EMAIL, "DJANGO_SUPERUSER_PASSWORD": ADMIN_PASSWORD},
                "createsuperuser",
                "--noinput",
            )
            customer_id = manage(env, "shell", "-c", CREATE_CUSTOMER).split()[-1]
            assert collecting.wait(timeout=300) == 0, (tmp_path / "collectstatic.log").read_text()

        # As `make serve-prod`: gunicorn loads ./gunicorn.conf.py (HOST, PORT, workers).
        gunicorn = [sys.executable, "-m", "gunicorn", "--no-control-socket"]
        log = tmp_path / "gunicorn.log"
        with running(gunicorn, env, log) as server:
            browser = Browser(port)
            login_page = wait_until_serving(browser, server, log)
            assert login_page.status == 200, login_page.content[:2000]
            assert login_page.headers["Content-Type"].startswith("text/html")
            assert "max-age=" in login_page.headers["Strict-Transport-Security"]
            # Plain HTTP is sent to HTTPS; DEBUG is off, so an unknown page is a bare 404.
            assert browser.get("/accounts/login/", https=False).status == 301
            missing = browser.get("/no-such-page/")
            assert missing.status == 404
            assert b"URLconf" not in missing.content

            # The first admin (createsuperuser) must enrol an authenticator before reaching anything.
            enrol = sign_in(browser)
            if enrol.path.startswith("/accounts/reauthenticate/"):
                # allauth may ask for the password again before an authenticator is added.
                confirm = browser.post(enrol.path, {"password": ADMIN_PASSWORD})
                enrol = browser.follow(confirm)
            assert (enrol.status, enrol.path) == (200, "/accounts/2fa/totp/activate/")
            assert browser.get("/dashboard/").status == 302
            parser = _SecretField()
            parser.feed(enrol.content.decode())
            assert parser.secret, enrol.content[:2000]
            activated = browser.post("/accounts/2fa/totp/activate/", {"code": totp_code(parser.secret)})
            assert activated.status == 302, activated.content[:2000]

            # A fresh sign-in with password and code reaches the dashboard, a PDF and the hashed static files.
            browser = Browser(port)
            assert browser.get("/dashboard/").status == 302
            dashboard = sign_in(browser, code_for=parser.secret)
            assert dashboard.status == 200, dashboard.content[:2000]
            assert browser.get("/dashboard/").status == 200

            statement = {"customer": customer_id, "period": "month", "month": "2026-01", "format": "pdf"}
            pdf = browser.get(f"/dashboard/finance/statements/?{urlencode(statement)}")
            assert pdf.status == 200, pdf.content[:2000]
            assert pdf.headers["Content-Type"] == "application/pdf"
            assert pdf.content.startswith(b"%PDF-")

            assets = set(HASHED_STATIC.findall(dashboard.content.decode()))
            assert any("/vendor/bootstrap/" in asset for asset in assets), assets
            for asset in sorted(assets):
                served = browser.get(asset)
                assert served.status == 200, asset
                assert "immutable" in served.headers["Cache-Control"], asset
                if asset.endswith(".css"):
                    # Fonts and images a stylesheet names were rewritten to their hashed names too.
                    for ref in re.findall(r"url\(['\"]?([^'\")]+)", served.content.decode()):
                        if not ref.startswith("data:"):
                            assert browser.get(urljoin(asset, ref)).status == 200, (asset, ref)
