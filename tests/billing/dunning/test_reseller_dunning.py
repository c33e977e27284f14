"""Dunning a resale sub-distributor's customer (issue #17): the reminders, down to the suspension notice,
come from the reseller (its name as sender, replies to its billing e-mail, its bank details) and never
name the operator; the suspending level records the customer's suspension."""

from datetime import timedelta

import pytest

from billing.dunning.models import DunningNotice
from billing.dunning.selectors import overdue_notices
from billing.dunning.services import dunning_policy_standard, dunning_run
from tests.billing.documents.sellers import (
    OPERATOR,
    SELLER_ACCOUNT,
    SELLER_LEGAL,
    end_customer,
    operator_settings,
    reseller,
)
from tests.billing.dunning.helpers import DUE, invoice_due
from tests.billing.invoicing.factories import credit_terms

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _operator(settings, tmp_path):
    operator_settings(settings)
    settings.MEDIA_ROOT = tmp_path


def test_a_resellers_customer_is_dunned_and_suspended_in_the_resellers_name(mailoutbox):
    seller = reseller(logo=False)
    shop = end_customer(seller, language="en", contact_email="")
    credit_terms(
        shop,
        payment_term="net",
        payment_days=30,
        billing_emails="ap@shop.example",
        dunning_policy=dunning_policy_standard(),
    )
    invoice = invoice_due(shop)

    result = dunning_run(today=DUE + timedelta(days=30))

    assert (result.sent, result.suspended, result.errors) == (1, 1, [])
    [notice] = mailoutbox
    assert notice.to == ["ap@shop.example"]
    assert "suspended your API service" in notice.body
    assert notice.from_email == f'"{SELLER_LEGAL}" <noreply@platform.example>'
    assert notice.reply_to == ["billing@acme.example"]
    assert SELLER_LEGAL in notice.body and SELLER_ACCOUNT in notice.body
    text = notice.from_email + notice.subject + notice.body
    assert OPERATOR["OPERATOR_NAME"] not in text and "Operator Bank" not in text
    assert DunningNotice.objects.get(invoice=invoice, skipped=False).suspended
    assert overdue_notices(customer_id=shop.pk).exists()
