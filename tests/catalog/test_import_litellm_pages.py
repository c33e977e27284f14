"""The provider mappings page and the LiteLLM import preview page (#20): who may see them, what they show."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from accounts.models import StaffRole
from catalog.models import BookKind, PriceImport, ProviderMapping
from tests.catalog.factories import AIModelFactory, PriceBookFactory, VendorFactory
from tests.factories import MembershipFactory, StaffFactory

pytestmark = pytest.mark.django_db

DEEPSEEK = {
    "litellm_provider": "deepseek",
    "mode": "chat",
    "input_cost_per_token": 3e-07,
    "output_cost_per_token": 1.2e-06,
    "input_cost_per_token_flex": 1.5e-07,
    "off_peak_pricing": {
        "weekday_timezone": "Asia/Shanghai",
        "windows": [{"hours_utc": "16:30-00:30", "weekdays": [1, 2, 3, 4, 5]}],
        "input_cost_per_token": 1.5e-07,
    },
}
FILE = {
    "deepseek-v4-flash": DEEPSEEK,
    "newco/a": {**DEEPSEEK, "litellm_provider": "newco"},
    "exa_ai/search": {"litellm_provider": "exa_ai", "mode": "search"},
    "firecrawl/search": {"litellm_provider": "firecrawl", "mode": "search"},
}


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def upload(client: Client, entries: dict, **fields):
    body = json.dumps(entries).replace("1.6e-06", "1.6000000000000001e-06")
    data = {"format": "litellm", "book": "List", "kind": "list", "effective": "2026-06-01", **fields}
    return client.post(
        reverse("catalog-import-new"), {"file": SimpleUploadedFile("prices.json", body.encode()), **data}
    )


def test_catalog_staff_list_add_edit_and_delete_provider_mappings(staff_client):
    deepseek = VendorFactory(slug="deepseek", name="DeepSeek")
    book = PriceBookFactory(name="Bedrock cost", kind=BookKind.COST, currency="USD")

    response = staff_client.post(
        reverse("catalog-provider-mapping-new"),
        {"provider": "bedrock", "action": "channel", "channel_book": book.pk},
    )
    assert response.status_code == 302
    mapping = ProviderMapping.objects.get(provider="bedrock")
    assert (mapping.action, mapping.channel_book) == ("channel", book)

    refused = staff_client.post(
        reverse("catalog-provider-mapping-new"), {"provider": "deepseek", "action": "vendor"}
    )
    assert "Name the vendor whose price list these entries are." in refused.content.decode()
    staff_client.post(
        reverse("catalog-provider-mapping-new"),
        {"provider": "deepseek", "action": "vendor", "vendor": deepseek.pk},
    )

    page = staff_client.get(reverse("catalog-provider-mappings"), {"action": "channel", "o": "-provider"})
    assert page.status_code == 200
    assert "Bedrock cost" in page.content.decode() and "<code>deepseek</code>" not in page.content.decode()

    edit_page = staff_client.get(reverse("catalog-provider-mapping-edit", args=[mapping.pk])).content.decode()
    assert 'value="bedrock"' in edit_page and f'<option value="{book.pk}" selected>' in edit_page
    staff_client.post(
        reverse("catalog-provider-mapping-edit", args=[mapping.pk]), {"provider": "bedrock", "action": "skip"}
    )
    mapping.refresh_from_db()
    assert (mapping.action, mapping.channel_book) == ("skip", None)
    staff_client.post(reverse("catalog-provider-mapping-delete", args=[mapping.pk]))
    assert not ProviderMapping.objects.filter(provider="bedrock").exists()


def test_the_new_mapping_form_takes_the_provider_from_the_previews_link(staff_client):
    response = staff_client.get(reverse("catalog-provider-mapping-new"), {"provider": "newco"})

    assert 'value="newco"' in response.content.decode()


@pytest.mark.parametrize("role", [StaffRole.SUPPORT])
def test_staff_without_catalog_rights_cannot_see_the_mappings(role):
    client = client_for(StaffFactory(staff_role=role))
    mapping = ProviderMapping.objects.create(provider="x", action="skip")

    assert client.get(reverse("catalog-provider-mappings")).status_code == 403
    assert client.get(reverse("catalog-provider-mapping-new")).status_code == 403
    assert client.post(reverse("catalog-provider-mapping-delete", args=[mapping.pk])).status_code == 403
    assert ProviderMapping.objects.filter(pk=mapping.pk).exists()


def test_an_auditor_reads_the_mappings_but_changes_none(auditor_client):
    mapping = ProviderMapping.objects.create(provider="x", action="skip")

    assert auditor_client.get(reverse("catalog-provider-mappings")).status_code == 200
    assert auditor_client.get(reverse("catalog-provider-mapping-new")).status_code == 403
    assert (
        auditor_client.post(reverse("catalog-provider-mapping-delete", args=[mapping.pk])).status_code == 403
    )


def test_a_customer_user_is_refused_the_mappings():
    member = MembershipFactory().user

    response = client_for(member).get(reverse("catalog-provider-mappings"))

    assert response.status_code == 403


def test_the_preview_shows_windows_service_tiers_skips_and_unmapped_providers(staff_client):
    deepseek = VendorFactory(slug="deepseek")
    ProviderMapping.objects.create(provider="deepseek", vendor=deepseek)
    AIModelFactory(name="deepseek-v4-flash", vendor=deepseek)
    entries = {**FILE, "deepseek-v4-flash": {**DEEPSEEK, "output_cost_per_token": 1.6e-06}}

    response = upload(staff_client, entries)
    record = PriceImport.objects.get()
    assert response.status_code == 302
    page = staff_client.get(reverse("catalog-import-detail", args=[record.pk])).content.decode()

    assert "1 value normalised." in page
    assert "1.6000000000000001e-06" in page and "0.0000016" in page
    assert "Off-peak (Asia/Shanghai: Mon–Fri 00:30–08:30): input 0.15" in page
    assert "flex (0, ∞] input 0.15 · output 1.6" in page
    assert "mode … is not priced here" in page and "exa_ai/search" in page
    assert reverse("catalog-provider-mapping-new") + "?provider=newco" in page


def test_the_skipped_entries_of_one_reason_have_their_own_paginated_page(staff_client):
    entries = {f"p/search-{n}": {"litellm_provider": "p", "mode": "search"} for n in range(230)}
    upload(staff_client, entries)
    record = PriceImport.objects.get()

    first = staff_client.get(reverse("catalog-import-skipped", args=[record.pk, 0])).content.decode()
    second = staff_client.get(
        reverse("catalog-import-skipped", args=[record.pk, 0]), {"page": 2}
    ).content.decode()

    assert first.count("<li><code>") == 200 and second.count("<li><code>") == 30
    assert "mode … is not priced here" in first
    assert staff_client.get(reverse("catalog-import-skipped", args=[record.pk, 5])).status_code == 404


def test_the_upload_page_imports_a_channels_entries_into_its_cost_book(staff_client):
    claude = AIModelFactory(name="claude-2.1", vendor=VendorFactory(slug="anthropic"))
    book = PriceBookFactory(name="Bedrock cost", kind=BookKind.COST, currency="USD")
    ProviderMapping.objects.create(provider="bedrock", action="channel", channel_book=book)
    entries = {"bedrock/us-east-1/claude-2.1": {**DEEPSEEK, "litellm_provider": "bedrock"}}

    upload(staff_client, entries, book="", kind="", provider="bedrock")

    record = PriceImport.objects.get()
    assert (record.book_name, record.kind, record.summary["provider"]) == ("Bedrock cost", "cost", "bedrock")
    assert [c["model"] for c in record.summary["changes"]] == [claude.name]
