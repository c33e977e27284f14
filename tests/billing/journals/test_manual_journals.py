"""Manual journal entries: finance proposes a balanced entry with reason and attachments, an admin other than
the proposer approves, and approval posts one ledger transaction however often it is repeated."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.models import StaffRole
from billing.journals.lines import LineInput
from billing.journals.models import ManualJournal
from billing.journals.services import manual_journal_approve, manual_journal_propose
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind, JournalTransaction
from tests.billing.factories import staff

pytestmark = pytest.mark.django_db

NEW = "/dashboard/journals/manual/new/"
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def accounts():
    return (
        account_get(kind=AccountKind.MANUAL_ADJUSTMENT, currency="CNY"),
        account_get(kind=AccountKind.CASH_BANK, currency="CNY"),
    )


def _form(lines, **changes):
    data = {
        "reason": "Bank charges missed in November",
        "effective_date": timezone.localdate().isoformat(),
        "idempotency_key": "manual-journal-form:test-1",
        "lines-TOTAL_FORMS": str(len(lines)),
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "40",
    }
    for index, (account, side, amount, currency) in enumerate(lines):
        data.update(
            {
                f"lines-{index}-account": account.pk,
                f"lines-{index}-side": side,
                f"lines-{index}-amount": amount,
                f"lines-{index}-currency": currency,
            }
        )
    data.update(changes)
    return data


def _propose(finance, accounts, amount="120.50"):
    expense, cash = accounts
    return manual_journal_propose(
        proposer=finance,
        reason="Bank charges missed in November",
        effective_date=timezone.localdate(),
        lines=[
            LineInput(1, expense, "debit", Decimal(amount), "CNY"),
            LineInput(2, cash, "credit", Decimal(amount), "CNY"),
        ],
        idempotency_key=f"test:{amount}",
    )


def test_finance_proposes_an_admin_approves_and_it_posts_once(client, finance, admin, accounts):
    expense, cash = accounts
    # given finance proposes a balanced entry with a bank slip attached
    client.force_login(finance)
    lines = [(expense, "debit", "120.50", "CNY"), (cash, "credit", "120.50", "CNY")]
    data = _form(lines, attachments=SimpleUploadedFile("slip.pdf", PDF, content_type="application/pdf"))
    response = client.post(NEW, data)
    journal = ManualJournal.objects.get()
    assert response.status_code == 302
    assert journal.status == ManualJournal.Status.PROPOSED
    assert journal.attachments.get().name == "slip.pdf"
    assert not JournalTransaction.objects.filter(kind="manual.journal").exists()

    # when an admin approves it, twice
    client.force_login(admin)
    url = f"/dashboard/journals/manual/{journal.pk}/decide/"
    assert client.post(url, {"decision": "approve"}).status_code == 302
    again = client.post(url, {"decision": "approve"}, follow=True)

    # then one transaction is posted, debiting the expense and crediting cash
    journal.refresh_from_db()
    assert (journal.status, journal.decided_by) == (ManualJournal.Status.APPROVED, admin)
    posted = JournalTransaction.objects.get(kind="manual.journal")
    assert journal.journal_transaction == posted
    assert posted.actor == admin
    assert posted.effective_date == journal.effective_date
    assert sorted((e.account_id, e.amount) for e in posted.entries.all()) == sorted(
        [(expense.pk, Decimal("120.50")), (cash.pk, Decimal("-120.50"))]
    )
    assert "already decided" in again.content.decode()
    expense.refresh_from_db()
    assert expense.balance == Decimal("120.50")


def test_approving_twice_in_the_service_posts_once(finance, admin, accounts):
    journal = _propose(finance, accounts)
    manual_journal_approve(journal=journal, approver=admin)
    with pytest.raises(ValidationError, match="already decided"):
        manual_journal_approve(journal=journal, approver=admin)
    assert JournalTransaction.objects.filter(source=f"manual_journal:{journal.pk}").count() == 1


def test_an_unbalanced_entry_is_refused_naming_its_lines(client, finance, accounts):
    expense, cash = accounts
    usd = account_get(kind=AccountKind.CASH_BANK, currency="USD")
    client.force_login(finance)
    lines = [
        (expense, "debit", "100.00", "CNY"),
        (usd, "debit", "5.00", "USD"),
        (cash, "credit", "90.00", "CNY"),
        (usd, "credit", "5.00", "USD"),
    ]
    response = client.post(NEW, _form(lines))
    body = response.content.decode()
    assert response.status_code == 400
    expected = "the CNY lines (1, 3) do not balance: debits 100.00, credits 90.00, difference 10.00."
    assert f"Line 1: {expected}" in body
    assert f"Line 3: {expected}" in body
    assert "Line 2:" not in body  # the USD lines balance
    assert not ManualJournal.objects.exists()


def test_line_errors_name_the_line(client, finance, accounts):
    expense, cash = accounts
    client.force_login(finance)
    lines = [(expense, "debit", "100.00", "USD"), (cash, "credit", "100.005", "CNY")]
    body = client.post(NEW, _form(lines)).content.decode()
    assert "Line 1: manual_adjustment:CNY is kept in CNY, not USD." in body
    assert "Line 2: CNY amounts have at most 2 decimal places." in body
    assert not ManualJournal.objects.exists()


def test_the_service_refuses_an_unbalanced_entry_too(finance, accounts):
    expense, cash = accounts
    with pytest.raises(ValidationError) as refused:
        manual_journal_propose(
            proposer=finance,
            reason="Typo",
            effective_date=timezone.localdate(),
            lines=[
                LineInput(1, expense, "debit", Decimal("100"), "CNY"),
                LineInput(2, cash, "credit", Decimal("99.99"), "CNY"),
            ],
            idempotency_key="unbalanced",
        )
    assert refused.value.message_dict["lines"][0].startswith("Line 1: the CNY lines (1, 2) do not balance")
    assert not ManualJournal.objects.exists()


def test_a_future_date_or_missing_reason_is_refused(finance, accounts):
    expense, cash = accounts
    with pytest.raises(ValidationError) as refused:
        manual_journal_propose(
            proposer=finance,
            reason=" ",
            effective_date=timezone.localdate() + timedelta(days=1),
            lines=[
                LineInput(1, expense, "debit", Decimal("1"), "CNY"),
                LineInput(2, cash, "credit", Decimal("1"), "CNY"),
            ],
            idempotency_key="future",
        )
    assert set(refused.value.message_dict) == {"reason", "effective_date"}


def test_wallet_accounts_are_refused(finance, accounts):
    from tests.factories import CustomerFactory

    wallet = account_get(kind=AccountKind.WALLET_PAID, currency="CNY", customer=CustomerFactory())
    _expense, cash = accounts
    with pytest.raises(ValidationError, match="Line 1: wallet accounts are adjusted"):
        manual_journal_propose(
            proposer=finance,
            reason="Top up by hand",
            effective_date=timezone.localdate(),
            lines=[
                LineInput(1, wallet, "credit", Decimal("10"), "CNY"),
                LineInput(2, cash, "debit", Decimal("10"), "CNY"),
            ],
            idempotency_key="wallet",
        )


def test_a_replayed_key_returns_the_proposal_and_another_body_is_refused(finance, accounts):
    first = _propose(finance, accounts, amount="10.00")
    expense, cash = accounts
    again = manual_journal_propose(
        proposer=finance,
        reason="Bank charges missed in November",
        effective_date=timezone.localdate(),
        lines=[
            LineInput(1, expense, "debit", Decimal("10.00"), "CNY"),
            LineInput(2, cash, "credit", Decimal("10.00"), "CNY"),
        ],
        idempotency_key="test:10.00",
    )
    assert again == first
    with pytest.raises(ValidationError, match="already used for a different journal entry"):
        manual_journal_propose(
            proposer=finance,
            reason="Bank charges missed in November",
            effective_date=timezone.localdate(),
            lines=[
                LineInput(1, expense, "debit", Decimal("11.00"), "CNY"),
                LineInput(2, cash, "credit", Decimal("11.00"), "CNY"),
            ],
            idempotency_key="test:10.00",
        )
    assert ManualJournal.objects.count() == 1


def test_the_proposer_cannot_approve_even_as_admin(client, admin, admin2, accounts):
    journal = _propose(admin, accounts)
    with pytest.raises(PermissionDenied):
        manual_journal_approve(journal=journal, approver=admin)
    client.force_login(admin)
    page = client.get(f"/dashboard/journals/manual/{journal.pk}/")
    assert 'data-testid="approve"' not in page.content.decode()
    refused = client.post(f"/dashboard/journals/manual/{journal.pk}/decide/", {"decision": "approve"})
    assert refused.status_code == 403
    journal.refresh_from_db()
    assert journal.status == ManualJournal.Status.PROPOSED
    # a second admin may
    manual_journal_approve(journal=journal, approver=admin2)
    assert JournalTransaction.objects.filter(kind="manual.journal").count() == 1


def test_finance_cannot_approve_and_a_rejection_posts_nothing(client, finance, admin, accounts):
    journal = _propose(finance, accounts)
    other_finance = staff(StaffRole.FINANCE)
    with pytest.raises(PermissionDenied):
        manual_journal_approve(journal=journal, approver=other_finance)
    client.force_login(other_finance)
    url = f"/dashboard/journals/manual/{journal.pk}/decide/"
    assert client.post(url, {"decision": "approve"}).status_code == 403
    client.force_login(admin)
    client.post(url, {"decision": "reject", "reason": "Charges were booked by the bank feed"})
    journal.refresh_from_db()
    assert journal.status == ManualJournal.Status.REJECTED
    assert journal.rejection_reason == "Charges were booked by the bank feed"
    assert not JournalTransaction.objects.filter(kind="manual.journal").exists()


@pytest.mark.parametrize("role", [StaffRole.SALES, StaffRole.SUPPORT])
def test_other_roles_are_denied_every_page(client, role, finance, accounts):
    journal = _propose(finance, accounts)
    client.force_login(staff(role))
    for url in ("/dashboard/journals/manual/", NEW, f"/dashboard/journals/manual/{journal.pk}/"):
        assert client.get(url).status_code == 403, url
    assert client.post(NEW, _form([])).status_code == 403
    assert (
        client.post(f"/dashboard/journals/manual/{journal.pk}/decide/", {"decision": "approve"}).status_code
        == 403
    )


def test_a_customer_user_is_denied(client, finance, accounts):
    from tests.factories import MembershipFactory

    journal = _propose(finance, accounts)
    client.force_login(MembershipFactory().user)
    assert client.get(f"/dashboard/journals/manual/{journal.pk}/").status_code == 403


def test_auditors_read_the_list_but_not_attachments_and_never_decide(client, finance, admin, accounts):
    journal = manual_journal_propose(
        proposer=finance,
        reason="Write off a bank fee",
        effective_date=timezone.localdate(),
        lines=[
            LineInput(1, accounts[0], "debit", Decimal("3"), "CNY"),
            LineInput(2, accounts[1], "credit", Decimal("3"), "CNY"),
        ],
        attachments=[SimpleUploadedFile("fee.pdf", PDF, content_type="application/pdf")],
        idempotency_key="with-file",
    )
    attachment = journal.attachments.get()
    download = f"/dashboard/journals/manual/{journal.pk}/attachments/{attachment.pk}/"
    client.force_login(staff(StaffRole.AUDITOR))
    assert client.get("/dashboard/journals/manual/?status=proposed").status_code == 200
    assert client.get(f"/dashboard/journals/manual/{journal.pk}/").status_code == 200
    assert client.get(download).status_code == 403
    assert client.get(NEW).status_code == 403
    assert (
        client.post(f"/dashboard/journals/manual/{journal.pk}/decide/", {"decision": "approve"}).status_code
        == 403
    )
    # finance and admins download it
    for user in (finance, admin):
        client.force_login(user)
        response = client.get(download)
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == PDF


def test_an_attachment_of_the_wrong_type_is_refused(client, finance, accounts):
    expense, cash = accounts
    client.force_login(finance)
    fake = SimpleUploadedFile("invoice.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")
    data = _form([(expense, "debit", "1.00", "CNY"), (cash, "credit", "1.00", "CNY")], attachments=fake)
    response = client.post(NEW, data)
    assert response.status_code == 400
    assert "invoice.pdf is not a PDF, PNG, JPEG or XLSX file." in response.content.decode()
    assert not ManualJournal.objects.exists()


def test_the_list_filters_and_the_form_adds_lines(client, finance, accounts):
    _propose(finance, accounts, amount="7.00")
    client.force_login(finance)
    page = client.get("/dashboard/journals/manual/?status=approved")
    assert "No journal entries match these filters." in page.content.decode()
    assert "Bank charges missed" in client.get("/dashboard/journals/manual/?q=charges").content.decode()
    form = client.get(NEW).content.decode()
    assert 'name="lines-3-account"' in form and 'name="lines-4-account"' not in form
    assert "/dashboard/journals/manual/new/line/?index=4" in form
    row = client.get("/dashboard/journals/manual/new/line/?index=4").content.decode()
    assert 'name="lines-4-account"' in row
    assert 'value="5" id="id_lines-TOTAL_FORMS" hx-swap-oob="true"' in row
    assert "index=5" in row


def test_the_pages_and_the_line_errors_speak_chinese(client, finance, accounts):
    expense, cash = accounts
    journal = _propose(finance, accounts, amount="8.00")
    client.force_login(finance)
    zh = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
    assert "手工分录" in client.get("/dashboard/journals/manual/", **zh).content.decode()
    assert (
        "等待提议人以外的管理员批准"
        in client.get(f"/dashboard/journals/manual/{journal.pk}/", **zh).content.decode()
    )
    lines = [(expense, "debit", "100.00", "CNY"), (cash, "credit", "90.00", "CNY")]
    refused = client.post(NEW, _form(lines, idempotency_key="zh-form"), **zh).content.decode()
    assert "第 1 行：CNY 各行（1, 2）借贷不平：借方 100.00，贷方 90.00，差额 10.00。" in refused
