"""Price-import skip reasons are stored with their message key and parameters: the preview and the skipped
entries' page read in Chinese; the English reason stays beside them (and alone in the digest)."""

import re

import pytest
from django.urls import reverse
from django.utils import translation

from catalog.models import PriceImport
from catalog.services.imports.apply import skip_groups, skip_stored
from common.stored_text import stored_render
from tests.catalog.test_import_litellm_pages import FILE, upload

pytestmark = pytest.mark.django_db

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_skip_reasons_read_back_into_their_keys():
    for reason, key in (
        ("mode 'search' is not priced here", "catalog.import.skip.mode"),
        ("provider 'newco' is not mapped to a vendor (map it)", "catalog.import.skip.provider_unmapped"),
        (
            "input_cost_per_token: '-1' is not a price (negative or not finite)",
            "catalog.import.skip.not_price",
        ),
        ("tiered_pricing: no tiers", "catalog.import.skip.no_tiers"),
    ):
        message = skip_stored(reason)
        assert message["key"] == key and stored_render(message, language="en") == reason
        assert CJK.search(stored_render(message, language="zh-hans"))
    assert skip_stored("a reason nobody wrote a template for") is None


def _get(client, url, **query):
    with translation.override("zh-hans"):
        return client.get(url, query, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()


def test_the_preview_and_the_skipped_page_show_skip_reasons_in_chinese(staff_client):
    upload(staff_client, FILE)
    record = PriceImport.objects.get()

    skipped = {name: (reason, message) for name, reason, message in record.summary["skipped"]}
    reason, message = skipped["exa_ai/search"]
    assert reason == "mode 'search' is not priced here"
    assert message == {"key": "catalog.import.skip.mode", "params": {"mode": "'search'"}}

    page = _get(staff_client, reverse("catalog-import-detail", args=[record.pk]))
    assert "此处不为模式 … 定价" in page and "exa_ai/search" in page
    assert "is not priced here" not in page
    groups = skip_groups(record.summary["skipped"])
    number = next(n for n, group in enumerate(groups) if "exa_ai/search" in group.names)
    names = _get(staff_client, reverse("catalog-import-skipped", args=[record.pk, number]))
    assert 'data-testid="skip-reason">此处不为模式 … 定价</strong>' in names and "is not priced" not in names


def test_a_preview_stored_before_the_keys_shows_its_english_reasons(staff_client):
    upload(staff_client, FILE)
    record = PriceImport.objects.get()
    record.summary = {**record.summary, "skipped": [s[:2] for s in record.summary["skipped"]]}
    record.save(update_fields=["summary"])

    page = _get(staff_client, reverse("catalog-import-detail", args=[record.pk]))
    assert "mode … is not priced here" in page
