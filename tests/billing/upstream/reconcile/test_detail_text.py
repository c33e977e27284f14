"""A reconciliation line's detail is stored with its message key and parameters: its page reads in Chinese,
the English detail stays beside it (the CSV's)."""

import pytest
from django.urls import reverse
from django.utils import translation

from accounts.models import StaffRole
from billing.upstream.models import ReconClass
from billing.upstream.reconcile.run import reconcile
from common.stored_text import stored_render
from tests.billing.factories import staff
from tests.billing.upstream.reconcile.conftest import AFTER_JUNE, JUNE, vendor_month, vendor_rows_store

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(month):
    vendor_rows_store(month.channel, vendor_month())
    return reconcile(date_from=JUNE[0], date_to=JUNE[-1], now=AFTER_JUNE).run


def test_a_model_mismatch_line_reads_in_chinese(client, run):
    lines = run.lines.filter(klass=ReconClass.MODEL_MISMATCH).order_by("model_name")
    billed, served = lines
    assert billed.detail_message == {
        "key": "upstream.recon.vendor_shows",
        "params": {"other": served.model_name, "model": billed.model_name},
    }
    assert served.detail_message["key"] == "upstream.recon.we_billed"
    for line in lines:
        assert stored_render(line.detail_message, language="en") == line.detail

    client.force_login(staff(StaffRole.AUDITOR))
    with translation.override("zh-hans"):
        page = client.get(reverse("upstream-recon-line", args=[billed.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
        chinese = stored_render(billed.detail_message)
    html = page.content.decode()
    assert chinese in html and "The vendor shows" not in html
    assert billed.model_name in chinese and served.model_name in chinese
