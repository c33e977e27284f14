"""The upstream settings page: admin and finance change tolerances, threshold and alert targets; the webhook
secret is write-only; bad input answers on its field; auditors read; sales and support are refused."""

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import StaffRole
from billing.upstream.models import UpstreamSettings
from tests.billing.factories import staff

pytestmark = pytest.mark.django_db

URL = "upstream-settings"
VALID = {
    "token_tolerance": "0.02",
    "token_tolerance_abs": "500",
    "request_tolerance": "0.01",
    "cost_tolerance": "0.005",
    "leakage_threshold": "250",
    "shift_sigmas": "4",
    "alert_emails": " ops@example.com \n\nfinance@example.com",
    "webhook_url": "https://hooks.example.com/upstream",
    "webhook_secret": "whsec-1",
}


def _as(client, role):
    client.force_login(staff(role))
    return client


@pytest.mark.parametrize("role", [StaffRole.ADMIN, StaffRole.FINANCE])
def test_admin_and_finance_save_the_settings(client, role):
    c = _as(client, role)

    answer = c.post(reverse(URL), VALID)

    assert answer.status_code == 302
    saved = UpstreamSettings.load()
    assert (
        saved.token_tolerance,
        saved.token_tolerance_abs,
        saved.leakage_threshold,
        saved.shift_sigmas,
    ) == (
        Decimal("0.02"),
        500,
        Decimal("250"),
        Decimal("4"),
    )
    assert saved.alert_emails == "ops@example.com\nfinance@example.com"
    assert saved.webhook_secret == "whsec-1"


def test_the_secret_is_never_shown_kept_when_blank_and_removed_only_when_asked(client):
    c = _as(client, StaffRole.FINANCE)
    c.post(reverse(URL), VALID)

    page = c.get(reverse(URL))
    assert "whsec-1" not in page.content.decode() and page.context["has_secret"]
    c.post(reverse(URL), {**VALID, "webhook_secret": "", "leakage_threshold": "300"})
    assert UpstreamSettings.load().webhook_secret == "whsec-1"
    assert UpstreamSettings.load().leakage_threshold == Decimal("300")
    both = c.post(reverse(URL), {**VALID, "clear_secret": "on"})
    assert both.status_code == 400 and both.context["form"].errors["webhook_secret"]
    c.post(reverse(URL), {**VALID, "webhook_secret": "", "clear_secret": "on"})
    assert UpstreamSettings.load().webhook_secret == ""


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "alert_emails",
            "ops@example.com\nnot-an-address",
            "Line 2: not-an-address is not an e-mail address.",
        ),
        ("token_tolerance", "1.5", "less than or equal to 0.999999"),
        ("token_tolerance", "1", "less than or equal to 0.999999"),
        ("token_tolerance", "-0.01", "greater than or equal to 0"),
        ("request_tolerance", "1", "less than or equal to 0.999999"),
        ("request_tolerance", "-0.5", "greater than or equal to 0"),
        ("cost_tolerance", "1", "less than or equal to 0.999999"),
        ("cost_tolerance", "-0.001", "greater than or equal to 0"),
        ("token_tolerance_abs", "-1", "greater than or equal to 0"),
        ("leakage_threshold", "-1", "greater than or equal to 0"),
        ("leakage_threshold", "-0.01", "greater than or equal to 0"),
        ("shift_sigmas", "0", "greater than or equal to 0.5"),
        ("shift_sigmas", "-3", "greater than or equal to 0.5"),
        ("webhook_url", "http://127.0.0.1/hook", ""),
    ],
)
def test_bad_input_answers_on_its_field_and_saves_nothing(client, field, value, message):
    c = _as(client, StaffRole.ADMIN)

    answer = c.post(reverse(URL), {**VALID, field: value})

    assert answer.status_code == 400
    assert message in " ".join(answer.context["form"].errors[field])
    assert UpstreamSettings.load().leakage_threshold == Decimal(100)


def test_auditors_read_but_cannot_change(client):
    c = _as(client, StaffRole.AUDITOR)
    page = c.get(reverse(URL))
    assert page.status_code == 200 and page.context["can_edit"] is False
    assert c.post(reverse(URL), VALID).status_code == 403
    assert UpstreamSettings.load().leakage_threshold == Decimal(100)
