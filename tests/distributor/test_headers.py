"""Security headers on real pages: Content-Security-Policy, Permissions-Policy, Referrer-Policy, COOP and
``Cache-Control: no-store`` on private pages and downloads (never on static files); and pages that need no
inline script or style, so the policy can refuse them."""

import datetime as dt
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from accounts.models import MemberRole, StaffRole
from distributor.no_store import NoStoreMiddleware
from tests.billing.documents.helpers import invoice
from tests.billing.factories import staff
from tests.factories import CustomerFactory, MembershipFactory

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
# Rendered by WeasyPrint into PDFs, never sent to a browser: the policy does not apply to them.
PDF_TEMPLATES = set((TEMPLATES / "documents").glob("*.html"))
# HTML e-mail bodies are read in mail clients, which drop <style> blocks and know no CSP: inline styles are
# how e-mail is styled. No browser loads them from our site.
EMAIL_TEMPLATES = {path for path in TEMPLATES.rglob("*.html") if "email" in path.relative_to(TEMPLATES).parts}


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split("; ")}


@pytest.fixture
def finance_client(client):
    client.force_login(staff(StaffRole.FINANCE))
    return client


@pytest.fixture
def acme():
    return CustomerFactory(name="Acme")


@pytest.fixture
def portal_client(client, acme):
    client.force_login(MembershipFactory(customer=acme, role=MemberRole.OWNER).user)
    return client


def assert_strict_policy(response):
    policy = directives(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["img-src"] == ["'self'", "data:"]
    assert policy["font-src"] == ["'self'"] and policy["connect-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["form-action"] == ["'self'", "https://checkout.stripe.com"]
    assert "worker-src" not in policy


def assert_security_headers(response):
    assert_strict_policy(response)
    assert response["Permissions-Policy"] == (
        "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
        "payment=(), usb=()"
    )
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_staff_dashboard_has_every_security_header_and_is_not_stored(finance_client):
    response = finance_client.get(reverse("dashboard"))
    assert response.status_code == 200
    assert_security_headers(response)
    assert response["Cache-Control"] == "no-store"


def test_portal_page_has_every_security_header_and_is_not_stored(portal_client):
    response = portal_client.get(reverse("portal-home"))
    assert response.status_code == 200
    assert_security_headers(response)
    assert response["Cache-Control"] == "no-store"


def test_sign_in_page_has_the_policy_and_is_not_stored(client):
    response = client.get(reverse("account_login"))
    assert response.status_code == 200
    assert_security_headers(response)
    # allauth marks it never-cache itself, which is stricter still and kept
    assert "no-store" in response["Cache-Control"]


def test_csv_export_is_not_stored(finance_client):
    response = finance_client.get(reverse("staff-journal") + "?export=csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response["Cache-Control"] == "no-store"
    assert "Permissions-Policy" in response


def test_pdf_is_not_stored(portal_client, acme):
    invoice(acme, "100.00", dt.date(2026, 10, 5))
    october = {"period": "month", "month": "2026-10", "format": "pdf"}
    response = portal_client.get(reverse("portal-statement"), october)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "no-store"


def test_static_files_keep_their_cache(client):
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
    assert "Permissions-Policy" in response


def _answer(path: str, response: HttpResponse) -> HttpResponse:
    return NoStoreMiddleware(lambda request: response)(RequestFactory().get(path))


@pytest.mark.parametrize("content_type", ["text/csv; charset=utf-8", "application/pdf", "application/zip"])
def test_downloads_are_not_stored_wherever_they_come_from(content_type):
    response = _answer("/somewhere/public/", HttpResponse(b"x", content_type=content_type))
    assert response["Cache-Control"] == "no-store"


def test_an_attachment_is_not_stored_whatever_its_type():
    response = HttpResponse(b"{}", content_type="application/json")
    response["Content-Disposition"] = 'attachment; filename="x.json"'
    assert _answer("/somewhere/", response)["Cache-Control"] == "no-store"


def test_a_looser_cache_set_by_a_private_view_is_replaced():
    response = HttpResponse(b"balance")
    response["Cache-Control"] = "private, max-age=3600"
    assert _answer("/portal/wallet/", response)["Cache-Control"] == "no-store"


def test_a_stricter_value_set_by_a_view_is_kept():
    response = HttpResponse(b"x")
    response["Cache-Control"] = "max-age=0, no-cache, no-store, must-revalidate, private"
    assert _answer("/dashboard/", response)["Cache-Control"] == (
        "max-age=0, no-cache, no-store, must-revalidate, private"
    )


def test_public_pages_are_left_to_their_views():
    response = HttpResponse(b"<html></html>")
    response["Cache-Control"] = "max-age=60"
    assert _answer("/", response)["Cache-Control"] == "max-age=60"


class InlineCode(HTMLParser):
    """Collects what the policy refuses: inline scripts, event-handler attributes, javascript: URLs and
    style attributes or elements (a ``<script type="application/json">`` is data, and allowed)."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script" and not attributes.get("src") and attributes.get("type") != "application/json":
            self.found.append(f"inline <script> {attrs}")
        if tag == "style":
            self.found.append("<style> element")
        for name, value in attrs:
            if name.startswith("on") or name.startswith("hx-on") or name == "style":
                self.found.append(f"<{tag} {name}={value!r}>")
            if value and value.strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}={value!r}>")


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    return parser.found


@pytest.mark.parametrize(
    "url_name", ["dashboard", "staff-usage", "staff-usage-unrated", "staff-customer-list", "staff-journal"]
)
def test_staff_pages_need_no_inline_script_or_style(finance_client, url_name):
    response = finance_client.get(reverse(url_name))
    assert response.status_code == 200
    assert inline_code(response.content.decode()) == []


@pytest.mark.parametrize("url_name", ["portal-home", "portal-usage", "portal-prices", "portal-wallet"])
def test_portal_pages_need_no_inline_script_or_style(portal_client, url_name):
    response = portal_client.get(reverse(url_name))
    assert response.status_code == 200
    assert inline_code(response.content.decode()) == []


def test_sign_in_page_needs_no_inline_script_or_style(client):
    assert inline_code(client.get(reverse("account_login")).content.decode()) == []


def test_the_checker_finds_inline_code():
    page = '<script>alert(1)</script><a href="javascript:x()" onclick="y()" style="color:red">a</a>'
    assert len(inline_code(page)) == 4
    assert inline_code('<script type="application/json" id="d">{"a": 1}</script>') == []


def test_no_template_needs_inline_script_or_style():
    """Every page template (not the PDF or e-mail ones), whichever view renders it: a template tag inside an
    attribute does not hide an inline handler from this check."""
    offenders = {}
    for path in TEMPLATES.rglob("*.html"):
        if path in PDF_TEMPLATES or path in EMAIL_TEMPLATES:
            continue
        # Template comments and tags are not markup; strip them so the parser sees plain HTML.
        text = re.sub(r"{#.*?#}|{%.*?%}|{{.*?}}", "x", path.read_text(encoding="utf-8"), flags=re.S)
        found = inline_code(text)
        if found:
            offenders[str(path.relative_to(TEMPLATES))] = found
    assert offenders == {}
