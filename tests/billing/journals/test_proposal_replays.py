"""A manual journal's idempotency key stands for the whole proposal: replaying it with the same reason, date,
lines and attachments returns the first proposal; changing any of them is refused (DESIGN §4.4)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from billing.journals.lines import LineInput
from billing.journals.models import ManualJournal
from billing.journals.services import manual_journal_propose
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind

pytestmark = pytest.mark.django_db

D = Decimal
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
REFUSED = "This idempotency key was already used for a different journal entry."


def _lines():
    expense = account_get(kind=AccountKind.MANUAL_ADJUSTMENT, currency="CNY")
    cash = account_get(kind=AccountKind.CASH_BANK, currency="CNY")
    return [LineInput(1, expense, "debit", D("5"), "CNY"), LineInput(2, cash, "credit", D("5"), "CNY")]


def _pdf(content=PDF, name="slip.pdf"):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def _propose(finance, **changes):
    values = {
        "proposer": finance,
        "reason": "first",
        "effective_date": timezone.localdate(),
        "lines": _lines(),
        "attachments": [_pdf()],
        "idempotency_key": "same",
    }
    values.update(changes)
    return manual_journal_propose(**values)


def test_the_same_proposal_replayed_returns_the_first(finance):
    first = _propose(finance)
    again = _propose(finance, reason="  first  ", attachments=[_pdf()])
    assert again.pk == first.pk
    assert ManualJournal.objects.count() == 1
    assert first.attachments.count() == 1


@pytest.mark.parametrize(
    "changes",
    [
        {"reason": "something else entirely"},
        {"effective_date": timezone.localdate() - timedelta(days=40)},
        {"attachments": []},
        {"attachments": [_pdf(name="other.pdf")]},
        {"attachments": [_pdf(PDF.replace(b"1.7", b"1.6"))]},  # same name and size, other bytes
        {"attachments": [_pdf(), _pdf(name="more.pdf")]},
    ],
    ids=["reason", "effective_date", "no_attachment", "renamed", "other_bytes", "extra_attachment"],
)
def test_the_same_key_with_another_body_is_refused(finance, changes):
    first = _propose(finance)
    with pytest.raises(ValidationError) as refused:
        _propose(finance, **changes)
    assert refused.value.message_dict == {"idempotency_key": [REFUSED]}
    assert list(ManualJournal.objects.all()) == [first]
    first.refresh_from_db()
    assert (first.reason, first.effective_date) == ("first", timezone.localdate())


def test_the_form_shows_the_refusal_when_a_key_is_reposted_changed(client, finance):
    expense, cash = (line.account for line in _lines())
    data = {
        "reason": "Bank charges",
        "effective_date": timezone.localdate().isoformat(),
        "idempotency_key": "manual-journal-form:replayed",
        "lines-TOTAL_FORMS": "2",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "40",
        "lines-0-account": expense.pk,
        "lines-0-side": "debit",
        "lines-0-amount": "5.00",
        "lines-0-currency": "CNY",
        "lines-1-account": cash.pk,
        "lines-1-side": "credit",
        "lines-1-amount": "5.00",
        "lines-1-currency": "CNY",
    }
    client.force_login(finance)
    assert client.post("/dashboard/journals/manual/new/", data).status_code == 302
    # the browser's back button, the reason edited, the same page's key sent again
    response = client.post("/dashboard/journals/manual/new/", {**data, "reason": "Bank charges, October"})
    assert response.status_code == 400
    assert REFUSED in response.content.decode()
    assert ManualJournal.objects.get().reason == "Bank charges"
