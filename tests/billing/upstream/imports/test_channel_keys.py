"""An import for a chosen channel takes only that channel's key rows: an organization-wide OpenAI page
imported once for each of two channels stores each key's usage on its own channel, and the other keys'
rows are row errors naming whose key they are (review item 9)."""

import pytest

from accounts.models import StaffRole
from billing.upstream.imports.services import upstream_import
from billing.upstream.models import UpstreamImport, VendorUsage
from catalog.models import Channel
from tests.billing.upstream.imports.helpers import openai_page, openai_result, utc
from tests.billing.upstream.imports.test_pages import login, upload

pytestmark = pytest.mark.django_db


def org_page(*results) -> bytes:
    return openai_page([(utc(2026, 11, 3), utc(2026, 11, 4), list(results))])


ORG = org_page(
    openai_result(key="key_AbC123", input_tokens=1000, output=100),
    openai_result(key="key_Eu999", input_tokens=5000, output=500),
)


def test_an_org_page_imported_for_each_channel_stores_each_keys_usage_once(world):
    main, eu = world["channels"]["openai-main"], world["channels"]["openai-eu"]
    for_main = upstream_import(content=ORG, filename="o.json", fmt="openai-usage", channel=main)
    for_eu = upstream_import(content=ORG, filename="o.json", fmt="openai-usage", channel=eu)
    stored = sorted(VendorUsage.objects.values_list("channel__name", "input_tokens", "output_tokens"))
    assert stored == [("openai-eu", 5000, 500), ("openai-main", 1000, 100)]
    assert (for_main.created, for_main.rejected, for_eu.created, for_eu.rejected) == (1, 1, 1, 1)
    assert for_main.errors == [
        {
            "row": 2,
            "field": "api_key_id",
            "message": "The key id 'key_Eu999' is the vendor key id of openai-eu, not of openai-main, which "
            "this import is for: import the file without choosing a channel to store each key's usage on "
            "its own channel.",
            "where": "bucket 2026-11-03T00:00:00Z, result 2",
        }
    ]
    assert for_eu.errors[0]["row"] == 1 and "vendor key id of openai-main" in for_eu.errors[0]["message"]


def test_a_key_unknown_to_a_channel_with_its_own_key_id_is_refused(world):
    content = org_page(openai_result(key="key_AbC123"), openai_result(key="key_stranger", input_tokens=7))
    record = upstream_import(
        content=content, filename="o.json", fmt="openai-usage", channel=world["channels"]["openai-main"]
    )
    assert VendorUsage.objects.get().input_tokens == 1000
    assert record.errors[0]["message"] == (
        "The key id 'key_stranger' is not the vendor key id of openai-main ('key_AbC123'), which this import "
        "is for: set the key id on its channel and import the file without choosing a channel."
    )


def test_a_channel_without_a_key_id_takes_unclaimed_keys_but_not_other_channels(world):
    Channel.objects.filter(name="openai-main").update(vendor_key_id="")
    content = org_page(
        openai_result(key="key_first", input_tokens=100),
        openai_result(key="key_second", input_tokens=50),
        openai_result(key="key_Eu999", input_tokens=5000),
    )
    main = Channel.objects.get(name="openai-main")
    record = upstream_import(content=content, filename="o.json", fmt="openai-usage", channel=main)
    # Several keys of the channel are summed into one row; openai-eu's key is not the channel's.
    assert list(VendorUsage.objects.values_list("channel__name", "input_tokens")) == [("openai-main", 150)]
    assert [(e["row"], e["field"]) for e in record.errors] == [(3, "api_key_id")]


def test_without_a_chosen_channel_each_key_goes_to_its_channel(world):
    upstream_import(content=ORG, filename="o.json", fmt="openai-usage")
    stored = sorted(VendorUsage.objects.values_list("channel__name", "input_tokens"))
    assert stored == [("openai-eu", 5000), ("openai-main", 1000)]


def test_the_preview_page_lists_the_other_channels_rows_as_not_imported(client, world):
    login(client, StaffRole.FINANCE)
    response = upload(client, ORG, "openai-usage", name="o.json", channel=world["channels"]["openai-main"])
    record = UpstreamImport.objects.get()
    assert response.status_code == 302 and (record.created, record.rejected) == (1, 1)
    page = client.get(response["Location"]).content.decode()
    assert "Rows not imported" in page and "is the vendor key id of openai-eu, not of openai-main" in page
    assert "Applying would store 1 new rows and change 0" in page
