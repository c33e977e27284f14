"""The imports pages: admin and finance upload a file to a preview and apply it; auditors read the list
and the imports but cannot upload or apply; sales and support are refused everything."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import StaffRole
from billing.upstream.imports.services import upstream_import
from billing.upstream.models import UpstreamImport, VendorUsage
from tests.billing.factories import staff
from tests.billing.upstream.imports.conftest import sample
from tests.billing.upstream.imports.helpers import generic

pytestmark = pytest.mark.django_db


def login(client, role):
    client.force_login(staff(role))
    return client


def upload(client, content: bytes, fmt: str, name="usage.csv", channel=None):
    data = {"file": SimpleUploadedFile(name, content), "fmt": fmt}
    if channel is not None:
        data["channel"] = channel.pk
    return client.post(reverse("upstream-import-new"), data)


@pytest.mark.parametrize("role", [StaffRole.ADMIN, StaffRole.FINANCE])
def test_upload_previews_then_apply_stores(client, world, role):
    login(client, role)
    response = upload(client, sample("generic_kimi_deepseek.csv"), "generic")
    record = UpstreamImport.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "upstream-import-detail", args=[record.pk]
    )
    assert record.state == "preview" and not VendorUsage.objects.exists()
    page = client.get(response["Location"]).content.decode()
    assert "Applying would store 4 new rows and change 0; 0 are unchanged. Nothing is stored yet." in page
    assert "kimi-k2-0905-preview" in page and f'action="/upstream/imports/{record.pk}/apply/"' in page
    applied = client.post(reverse("upstream-import-apply", args=[record.pk]), follow=True).content.decode()
    assert "Applied: 4 new, 0 changed, 0 unchanged; 0 rows rejected." in applied
    assert VendorUsage.objects.filter(source_import=record).count() == 4
    assert "Rows this import stored or changed" in applied and "deepseek-reasoner" in applied


def test_a_revision_shows_old_and_new_figures_in_the_preview(client, world):
    upstream_import(
        content=generic("2026-11-03,,kimi-main,kimi-k2,10,1000,0,0,100,0,1.5,CNY"),
        filename="a.csv",
        fmt="generic",
    )
    login(client, StaffRole.FINANCE)
    response = upload(client, generic("2026-11-03,,kimi-main,kimi-k2,14,1000,0,0,100,0,1.5,CNY"), "generic")
    page = client.get(response["Location"] + "?outcome=changed").content.decode()
    assert "Requests: <s>10</s> → <strong>14</strong>" in page
    assert "and change 1; 0 are unchanged" in page


def test_row_errors_are_listed_with_row_and_field(client, world):
    login(client, StaffRole.ADMIN)
    response = upload(
        client,
        generic(
            "2026-11-03,,kimi-main,kimi-k2,10,1000,0,0,100,0,,",
            "2026-11-03,,nowhere,kimi-k2,10,1000,0,0,100,0,,",
        ),
        "generic",
    )
    page = client.get(response["Location"]).content.decode()
    assert "Rows not imported" in page
    assert (
        "<td>3</td><td></td><td><code>channel</code></td>"
        "<td>&#x27;nowhere&#x27; is no channel&#x27;s name or alias.</td>" in page
    )


def test_a_refused_file_is_shown_on_the_form(client, world):
    login(client, StaffRole.ADMIN)
    response = upload(client, b'{"data": [', "openai-usage", name="o.json")
    assert response.status_code == 400
    page = response.content.decode()
    assert "The file was not imported." in page and "The file is not valid JSON" in page
    assert UpstreamImport.objects.get().state == "failed"


def test_a_too_large_file_is_a_field_error(client, world, settings):
    settings.UPSTREAM_IMPORT_MAX_BYTES = 10
    login(client, StaffRole.ADMIN)
    response = upload(client, sample("generic_kimi_deepseek.csv"), "generic")
    assert response.status_code == 400 and "an import takes at most 10" in response.content.decode()
    assert not UpstreamImport.objects.exists()


def test_the_channel_chosen_on_the_page_applies_to_every_row(client, world):
    login(client, StaffRole.FINANCE)
    channel = world["channels"]["openrouter"]
    response = upload(
        client, sample("openrouter_activity.json"), "openrouter-activity", name="a.json", channel=channel
    )
    record = UpstreamImport.objects.get()
    assert response.status_code == 302 and record.channel == channel and record.created == 1


def test_the_list_filters_and_sorts(client, world):
    upstream_import(content=sample("generic_kimi_deepseek.csv"), filename="kimi-nov.csv", fmt="generic")
    upstream_import(content=b"x", filename="broken.json", fmt="openai-usage")
    login(client, StaffRole.FINANCE)
    page = client.get(reverse("upstream-import-list"), {"state": "failed", "o": "-rows"}).content.decode()
    assert "broken.json" in page and "kimi-nov.csv" not in page


def test_auditors_read_but_cannot_upload_or_apply(client, world):
    preview = upstream_import(
        content=sample("generic_kimi_deepseek.csv"), filename="g.csv", fmt="generic", preview=True
    )
    login(client, StaffRole.AUDITOR)
    listing = client.get(reverse("upstream-import-list"))
    assert listing.status_code == 200 and "g.csv" in listing.content.decode()
    assert reverse("upstream-import-new") not in listing.content.decode()
    detail = client.get(reverse("upstream-import-detail", args=[preview.pk])).content.decode()
    assert "Applying would store 4 new rows" in detail and "apply/" not in detail
    assert client.get(reverse("upstream-import-new")).status_code == 403
    assert upload(client, sample("generic_kimi_deepseek.csv"), "generic").status_code == 403
    assert client.post(reverse("upstream-import-apply", args=[preview.pk])).status_code == 403
    assert not VendorUsage.objects.exists()


@pytest.mark.parametrize("role", [StaffRole.SALES, StaffRole.SUPPORT])
def test_sales_and_support_are_refused(client, world, role):
    preview = upstream_import(
        content=sample("generic_kimi_deepseek.csv"), filename="g.csv", fmt="generic", preview=True
    )
    login(client, role)
    for name, args in [
        ("upstream-import-list", []),
        ("upstream-import-new", []),
        ("upstream-import-detail", [preview.pk]),
    ]:
        assert client.get(reverse(name, args=args)).status_code == 403
    assert client.post(reverse("upstream-import-apply", args=[preview.pk])).status_code == 403
    assert upload(client, sample("generic_kimi_deepseek.csv"), "generic").status_code == 403
    assert UpstreamImport.objects.count() == 1 and not VendorUsage.objects.exists()


def test_the_upload_form_shows_the_csv_headers(client, world):
    page = login(client, StaffRole.FINANCE).get(reverse("upstream-import-new")).content.decode()
    assert "date,timezone,channel,model,requests,input_tokens,cache_read_tokens,cache_write_tokens," in page
    assert "channel,number,kind,month,amount,currency,issued_on,due_on" in page


def test_anonymous_visitors_are_sent_to_sign_in(client, world):
    response = client.get(reverse("upstream-import-list"))
    assert response.status_code == 302 and "login" in response["Location"]
