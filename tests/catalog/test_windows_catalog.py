"""Editing a price entry's time-of-day windows, service tiers and unit prices on its page: each change is a
new effective-dated version with the previous one ended, bad input answers a field error and saves nothing,
and only admin and finance staff may change prices."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import StaffRole
from catalog.entry_forms import rules_parse, rules_text
from catalog.models import BookKind, PriceEntry, PriceWindow
from catalog.services.books import WindowSpec, price_entry_revise
from tests.catalog.factories import AIModelFactory, PriceBookFactory, add_prices, tier
from tests.factories import CustomerFactory, MembershipFactory, StaffFactory

pytestmark = pytest.mark.django_db

NIGHT = "Every day 16:30-00:30"


@pytest.fixture
def entry(db):
    model = AIModelFactory(name="deepseek-chat")
    book = PriceBookFactory(name="DeepSeek list", kind=BookKind.LIST, currency="CNY")
    return add_prices(book, model, tier(input="2", output="8", cache_read="0.5"))


def _client(role: str) -> Client:
    client = Client()
    client.force_login(StaffFactory(staff_role=role))
    return client


def _window_post(**overrides) -> dict:
    data = {
        "label": "Off-peak",
        "time_zone": "Asia/Shanghai",
        "rules": NIGHT,
        "input": "1",
        "output": "4",
        "effective": timezone.localdate().isoformat(),
    }
    return {**data, **overrides}


def test_a_window_added_on_the_page_is_a_new_version_and_the_old_one_ends(entry):
    before = timezone.now()
    response = _client(StaffRole.FINANCE).post(
        reverse("catalog-entry-window", args=[entry.pk]), _window_post()
    )
    assert response.status_code == 302, response.context["window_form"].errors
    entry.refresh_from_db()
    new = PriceEntry.objects.exclude(pk=entry.pk).get(book=entry.book, model=entry.model)
    assert response.status_code == 302 and response.url == reverse("catalog-entry-detail", args=[new.pk])
    assert entry.effective_to == new.effective_from and new.effective_from >= before
    assert new.effective_to is None
    assert not entry.windows.exists()
    window = new.windows.get()
    assert (window.label, window.time_zone, window.input, window.output, window.cache_read) == (
        "Off-peak",
        "Asia/Shanghai",
        Decimal("1"),
        Decimal("4"),
        None,
    )
    assert window.rules == [{"weekdays": [1, 2, 3, 4, 5, 6, 7], "start": "16:30", "end": "00:30"}]
    # The tiers come along unchanged.
    assert [(t.input, t.output, t.cache_read) for t in new.tiers.all()] == [
        (Decimal("2"), Decimal("8"), Decimal("0.5"))
    ]
    page = _client(StaffRole.SUPPORT).get(reverse("catalog-entry-detail", args=[new.pk]))
    assert page.status_code == 200
    assert "Off-peak" in page.text and "16:30–00:30" in page.text and "Asia/Shanghai" in page.text


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("rules", "Someday 18:00-08:00", "is not weekdays and hours"),
        ("rules", "Mon-Fri 25:00-08:00", "is not a time of day"),
        ("time_zone", "Mars/Olympus", "is not a time zone"),
        ("input", "-1", "greater than or equal to 0"),
    ],
)
def test_a_bad_window_answers_a_field_error_and_saves_nothing(entry, field, value, message):
    response = _client(StaffRole.ADMIN).post(
        reverse("catalog-entry-window", args=[entry.pk]), _window_post(**{field: value})
    )
    assert response.status_code == 200
    assert message in " ".join(response.context["window_form"].errors[field])
    assert PriceEntry.objects.count() == 1 and not PriceWindow.objects.exists()
    entry.refresh_from_db()
    assert entry.effective_to is None


def test_a_window_without_prices_and_a_past_day_are_refused(entry):
    client = _client(StaffRole.ADMIN)
    url = reverse("catalog-entry-window", args=[entry.pk])
    no_prices = client.post(url, _window_post(input="", output=""))
    assert "at least one price" in " ".join(no_prices.context["window_form"].errors["input"])
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
    past = client.post(url, _window_post(effective=yesterday))
    assert "never rewritten" in " ".join(past.context["window_form"].errors["effective"])
    assert PriceEntry.objects.count() == 1


def test_editing_and_removing_a_window_each_make_a_version(entry):
    client = _client(StaffRole.FINANCE)
    client.post(reverse("catalog-entry-window", args=[entry.pk]), _window_post())
    second = PriceEntry.objects.get(effective_to__isnull=True)
    page = client.get(reverse("catalog-entry-detail", args=[second.pk]))
    assert "Edit window Off-peak" in page.text and "Every day 16:30-00:30</textarea>" in page.text
    # An edit posts the prefixed form of that window; a later day so the versions do not share an instant.
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    edit = {
        f"w1-{k}": v
        for k, v in _window_post(
            rules="Mon-Fri 18:00-08:00\nSat, Sun all day", input="0.5", effective=tomorrow
        ).items()
    }
    response = client.post(
        reverse("catalog-entry-window", args=[second.pk]), {**edit, "prefix": "w1", "w1-original": "Off-peak"}
    )
    assert response.status_code == 302
    third = PriceEntry.objects.get(effective_to__isnull=True)
    window = third.windows.get()
    assert window.input == Decimal("0.5")
    assert window.rules == [
        {"weekdays": [1, 2, 3, 4, 5], "start": "18:00", "end": "08:00"},
        {"weekdays": [6, 7], "start": "00:00", "end": "00:00"},
    ]
    assert second.windows.get().input == Decimal("1")  # the earlier version is never edited
    later = (timezone.localdate() + timedelta(days=2)).isoformat()
    client.post(
        reverse("catalog-entry-remove", args=[third.pk]),
        {"part": "window", "name": "Off-peak", "effective": later},
    )
    fourth = PriceEntry.objects.get(effective_to__isnull=True)
    assert fourth.pk not in (entry.pk, second.pk, third.pk) and not fourth.windows.exists()
    assert PriceEntry.objects.count() == 4


def test_a_service_tier_and_unit_prices_are_set_as_versions(entry):
    client = _client(StaffRole.ADMIN)
    today = timezone.localdate().isoformat()
    client.post(
        reverse("catalog-entry-units", args=[entry.pk]),
        {"image": "0.04", "audio_second": "0.001", "effective": today},
    )
    second = PriceEntry.objects.get(effective_to__isnull=True)
    assert second.tiers.get().image == Decimal("0.04")
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    response = client.post(
        reverse("catalog-entry-service-tier", args=[second.pk]),
        {"name": " Flex ", "input": "1", "output": "4", "effective": tomorrow},
    )
    assert response.status_code == 302
    third = PriceEntry.objects.get(effective_to__isnull=True)
    flex = third.tiers.get(service_tier="flex")
    # The service tier keeps the standard tier's unit prices: a flex request with images can be rated.
    assert (flex.input, flex.output, flex.image) == (Decimal("1"), Decimal("4"), Decimal("0.04"))
    page = client.get(reverse("catalog-entry-detail", args=[third.pk]))
    assert "flex" in page.text and "0.04" in page.text


@pytest.mark.parametrize("role", [StaffRole.SALES, StaffRole.SUPPORT, StaffRole.AUDITOR])
def test_staff_without_catalog_rights_cannot_change_prices(entry, role):
    client = _client(role)
    page = client.get(reverse("catalog-entry-detail", args=[entry.pk]))
    assert page.status_code == 200 and "Add a time-of-day window" not in page.text
    today = timezone.localdate().isoformat()
    for name, data in [
        ("catalog-entry-window", _window_post()),
        ("catalog-entry-service-tier", {"name": "flex", "input": "1", "output": "2", "effective": today}),
        ("catalog-entry-units", {"image": "1", "effective": today}),
        ("catalog-entry-remove", {"part": "window", "name": "Off-peak", "effective": today}),
    ]:
        assert client.post(reverse(name, args=[entry.pk]), data).status_code == 403
    assert PriceEntry.objects.count() == 1


def test_a_customer_cannot_see_or_change_an_entry(entry):
    client = Client()
    client.force_login(MembershipFactory(customer=CustomerFactory()).user)
    assert client.get(reverse("catalog-entry-detail", args=[entry.pk])).status_code == 403
    assert client.post(reverse("catalog-entry-window", args=[entry.pk]), _window_post()).status_code == 403
    assert PriceEntry.objects.count() == 1


def test_an_ended_version_is_never_revised(entry):
    later = timezone.now() + timedelta(days=1)
    add_prices(entry.book, entry.model, tier(input="3", output="9"), effective_from=later)
    entry.refresh_from_db()
    with pytest.raises(ValidationError) as caught:
        price_entry_revise(
            entry=entry,
            effective_from=timezone.now() + timedelta(hours=1),
            windows=[
                WindowSpec(
                    "Night", "UTC", [{"weekdays": [1], "start": "00:00", "end": "06:00"}], input=Decimal(1)
                )
            ],
        )
    assert "effective_from" in caught.value.message_dict


def test_rules_are_read_in_english_and_chinese_and_written_back():
    assert rules_parse("周一至周五 18:00-08:00\n星期六、星期日 全天") == [
        {"weekdays": [1, 2, 3, 4, 5], "start": "18:00", "end": "08:00"},
        {"weekdays": [6, 7], "start": "00:00", "end": "00:00"},
    ]
    rules = rules_parse("Fri-Mon 22:00-06:00\nWed 9:00-10:00")
    assert rules[0]["weekdays"] == [1, 5, 6, 7] and rules[1]["start"] == "09:00"
    assert rules_parse(rules_text(rules)) == rules
    with translation.override("zh-hans"), pytest.raises(Exception) as caught:
        rules_parse("tomorrow")
    assert "Mon-Fri 18:00-08:00" in str(caught.value)
    # Digits that are digits only to Unicode (², ٣) are not weekdays: a line error, not a crash.
    for text in ("² 00:00-01:00", "٣ 00:00-01:00"):
        with pytest.raises(ValidationError) as caught:
            rules_parse(text)
        assert "Line 1" in str(caught.value)
