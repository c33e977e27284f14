"""Dunning policy pages: finance and admin edit levels in a formset; duplicate days are named."""

import pytest
from django.urls import reverse

from accounts.models import StaffRole
from billing.dunning.models import DunningPolicy
from billing.dunning.services import dunning_policy_standard
from tests.billing.factories import staff

pytestmark = pytest.mark.django_db


def payload(name="Strict", levels=((-1, "Heads-up", False), (10, "Cut-off", True)), initial=0, extra=None):
    data = {
        "name": name,
        "is_active": "on",
        "levels-TOTAL_FORMS": str(len(levels)),
        "levels-INITIAL_FORMS": str(initial),
        "levels-MIN_NUM_FORMS": "0",
        "levels-MAX_NUM_FORMS": "1000",
    }
    for i, (days, label, suspend) in enumerate(levels):
        data[f"levels-{i}-days_from_due"] = str(days)
        data[f"levels-{i}-name"] = label
        if suspend:
            data[f"levels-{i}-suspend_service"] = "on"
    data.update(extra or {})
    return data


def test_finance_creates_a_policy_with_levels(client):
    client.force_login(staff(StaffRole.FINANCE))

    response = client.post(reverse("staff-dunning-policy-create"), payload())

    assert response.status_code == 302
    policy = DunningPolicy.objects.get(name="Strict")
    assert list(policy.levels.values_list("days_from_due", "suspend_service")) == [(-1, False), (10, True)]
    listing = client.get(reverse("staff-dunning-policies")).content.decode()
    assert "Strict" in listing and "+10" in listing


def test_duplicate_days_are_refused_naming_the_rows(client):
    client.force_login(staff(StaffRole.ADMIN))

    response = client.post(
        reverse("staff-dunning-policy-create"), payload(levels=((7, "A", False), (7, "B", True)))
    )

    assert response.status_code == 200
    errors = " ".join(response.context["formset"].non_form_errors())
    assert "Rows 1 and 2 are both set for day +7" in errors
    assert not DunningPolicy.objects.filter(name="Strict").exists()


def test_editing_the_standard_policy_and_out_of_range_days(client):
    policy = dunning_policy_standard()
    client.force_login(staff(StaffRole.FINANCE))
    levels = list(policy.levels.order_by("days_from_due"))
    data = payload(
        name="Standard",
        levels=[(lv.days_from_due, lv.name, lv.suspend_service) for lv in levels],
        initial=len(levels),
        extra={f"levels-{i}-id": str(lv.pk) for i, lv in enumerate(levels)} | {"levels-1-DELETE": "on"},
    )
    assert client.post(reverse("staff-dunning-policy-edit", args=[policy.pk]), data).status_code == 302
    assert list(policy.levels.values_list("days_from_due", flat=True)) == [-3, 15, 30]

    bad = payload(levels=((400, "Too late", False),))
    response = client.post(reverse("staff-dunning-policy-create"), bad)
    assert "between -365 and 365" in str(response.context["formset"].errors)


def test_sales_and_customers_are_refused_auditors_read_only(client):
    policy = dunning_policy_standard()
    client.force_login(staff(StaffRole.SALES))
    assert client.get(reverse("staff-dunning-policies")).status_code == 403
    assert client.post(reverse("staff-dunning-policy-create"), payload()).status_code == 403

    client.force_login(staff(StaffRole.AUDITOR))
    assert client.get(reverse("staff-dunning-policy-edit", args=[policy.pk])).status_code == 200
    assert client.get(reverse("staff-dunning-notices")).status_code == 200
    assert client.post(reverse("staff-dunning-policy-edit", args=[policy.pk]), payload()).status_code == 403
    assert client.get(reverse("staff-dunning-policy-create")).status_code == 403
    assert not DunningPolicy.objects.filter(name="Strict").exists()


def test_notices_list_shows_sent_skipped_and_suspended(client, mailoutbox):
    from billing.dunning.services import dunning_run
    from tests.billing.dunning.helpers import DUE, dunned_customer, invoice_due

    invoice = invoice_due(dunned_customer())
    from datetime import timedelta

    dunning_run(today=DUE + timedelta(days=30))
    client.force_login(staff(StaffRole.FINANCE))

    page = client.get(reverse("staff-dunning-notices"), {"skipped": "false"}).content.decode()

    assert invoice.number in page and "Service suspended" in page and "Final notice" in page
    assert "Friendly reminder" not in page
