"""Agency commission statements: figures from the ledger, lines from the commission usage rows, the PDF in
both languages, settlement by bank and by offset, and who may see a statement."""

import datetime as dt
import itertools
import subprocess
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import Customer, MemberRole, StaffRole
from billing.chain.commission import commission_statement_issue, commission_statements_issue
from billing.chain.commission_pdf import commission_statement_pdf
from billing.chain.commission_settle import commission_settle
from billing.chain.models import CommissionSettlement, CommissionStatement
from billing.invoicing.periods import period_of_day, period_parse
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind, LedgerAccount
from billing.ledger.services import credit, debit, transaction_post
from billing.ledger.verify import ledger_problems
from billing.terms.models import BillingTerms
from billing.usage.models import GatewayKey, RatingState, UsageBatch, UsageEvent
from billing.usage.services import usage_batch_ingest
from catalog.models import BookKind, PlanRule
from catalog.services.plans import plan_assign, plan_create
from tests.billing.documents.helpers import invoice
from tests.billing.factories import staff
from tests.billing.usage.factories import source_make
from tests.catalog.factories import EPOCH, AIModelFactory, PriceBookFactory, add_prices, add_rule, tier
from tests.factories import CustomerFactory, MembershipFactory, SubDistributorFactory, UserFactory

pytestmark = pytest.mark.django_db
OCT = period_parse("2026-10")
_seq = itertools.count(1)


def pdf_text(data: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()


def agency(code: str, *, basis="margin", rate="0", language="en") -> Customer:
    agent = SubDistributorFactory(
        name=f"Agent {code}", code=code, chain_mode=Customer.ChainMode.AGENCY, language=language
    )
    Customer.objects.filter(pk=agent.pk).update(commission_basis=basis, commission_rate=Decimal(rate))
    agent.refresh_from_db()
    return agent


def accrue(agent: Customer, amount: str, day: dt.date, currency="CNY", batch=None):
    """A usage batch's commission accrual as usage posting books it (Dr expense / Cr the agent's payable,
    in the seller's book)."""
    n = next(_seq)
    book = agent.seller
    expense = account_get(kind=AccountKind.COMMISSION_EXPENSE, currency=currency, book=book)
    payable = account_get(kind=AccountKind.COMMISSION_PAYABLE, currency=currency, customer=agent)
    return transaction_post(
        idempotency_key=f"test-commission-{n}",
        kind="usage.commission",
        lines=[debit(expense, Decimal(amount), currency), credit(payable, Decimal(amount), currency)],
        source=f"usage_batch:{batch.pk}" if batch else "",
        effective_date=day,
    )


def requests(agent, end_customer, model, *, count: int, retail: str, commission: str, at: dt.datetime):
    """``count`` requests of ``end_customer`` at the agent's retail price, each with its commission row,
    as one batch whose commission is accrued on the day they happened."""
    batch = UsageBatch.objects.create(idempotency_key=f"b{next(_seq)}", request_hash="")
    for _ in range(count):
        request_id = f"req-{next(_seq)}"
        common = {
            "batch": batch,
            "rated_in": batch,
            "request_id": request_id,
            "occurred_at": at,
            "model": model,
            "model_name": model.name,
            "sell_currency": "CNY",
        }
        UsageEvent.objects.create(
            **common,
            customer=end_customer,
            hop=0,
            rating_state=RatingState.RATED,
            sell_amount=Decimal(retail),
        )
        UsageEvent.objects.create(
            **common,
            customer=agent,
            hop=1,
            end_customer=end_customer,
            rating_state=RatingState.COMMISSION,
            sell_amount=Decimal(commission),
        )
    accrue(agent, str(Decimal(commission) * count), at.date(), batch=batch)
    return batch


@pytest.fixture
def chain():
    """Agency S (margin basis) with two customers; September's commission 7.50 carried into October."""
    agent = agency("agent-s", language="zh-hans")
    c1 = CustomerFactory(name="Customer One", code="c-one", parent=agent)
    c2 = CustomerFactory(name="Customer Two", code="c-two", parent=agent)
    m1 = AIModelFactory(name="gpt-4o")
    m2 = AIModelFactory(name="qwen-max")
    at = dt.datetime(2026, 10, 12, 10, tzinfo=dt.UTC)
    # Retail 12.00 at S's plan, wholesale 10.00: a margin commission of 2.00 a request.
    requests(agent, c1, m1, count=3, retail="12.00", commission="2.00", at=at)
    requests(agent, c2, m1, count=2, retail="12.00", commission="2.00", at=at)
    requests(agent, c2, m2, count=1, retail="5.00", commission="1.00", at=at)
    accrue(agent, "7.50", dt.date(2026, 9, 28))
    return agent, c1, c2


def test_the_statement_is_the_ledger_and_its_lines_are_the_commission_rows(chain):
    agent, c1, _c2 = chain

    statement = commission_statement_issue(agent, OCT, "CNY")

    assert c1.seller_id is None and c1.price_owner_id == agent.pk  # sold by the operator at S's plans
    assert (statement.opening, statement.accrued, statement.settled, statement.closing) == (
        Decimal("7.50"),
        Decimal("11.00"),
        Decimal("0"),
        Decimal("18.50"),
    )
    assert statement.number == "COM-2026-10-agent-s-CNY" and statement.book_id is None
    lines = [
        (ln["customer"], ln["model"], ln["requests"], Decimal(ln["revenue"]), Decimal(ln["commission"]))
        for ln in statement.lines
    ]
    assert lines == [
        ("Customer One", "gpt-4o", 3, Decimal("36"), Decimal("6")),
        ("Customer Two", "gpt-4o", 2, Decimal("24"), Decimal("4")),
        ("Customer Two", "qwen-max", 1, Decimal("5"), Decimal("1")),
    ]
    payable = LedgerAccount.objects.get(kind=AccountKind.COMMISSION_PAYABLE, customer=agent)
    assert -payable.balance == statement.closing


def test_issuing_twice_changes_nothing_and_a_later_posting_raises_the_revision(chain):
    agent, *_ = chain
    [first] = commission_statements_issue(OCT)

    [again] = commission_statements_issue(OCT)
    assert again.pk == first.pk and again.revision == 1
    assert CommissionStatement.objects.count() == 1

    accrue(agent, "0.40", dt.date(2026, 10, 31))  # a late batch dated in October
    [updated] = commission_statements_issue(OCT)
    assert (updated.pk, updated.revision, updated.accrued, updated.closing) == (
        first.pk,
        2,
        Decimal("11.40"),
        Decimal("18.90"),
    )


def test_percent_basis_is_stated_and_the_command_issues_the_month(capsys):
    agent = agency("agent-p", basis="percent", rate="0.08")
    c3 = CustomerFactory(name="Customer Three", code="c-three", parent=agent)
    model = AIModelFactory(name="glm-4")
    requests(
        agent,
        c3,
        model,
        count=4,
        retail="25.00",
        commission="2.00",
        at=dt.datetime(2026, 10, 2, tzinfo=dt.UTC),
    )

    call_command("commission_statements", "--period", "2026-10")

    out = capsys.readouterr().out
    assert (
        "COM-2026-10-agent-p-CNY agent-p CNY opening=0.00 accrued=8.00 settled=0.00 closing=8.00 rev=1" in out
    )
    statement = CommissionStatement.objects.get(agent=agent)
    assert (statement.basis, statement.rate) == ("percent", Decimal("0.080000"))
    text = pdf_text(commission_statement_pdf(statement, language="en"))
    assert "8% of retail" in text and "100.00" in text and "8.00" in text


def test_the_pdf_reads_in_chinese_and_english(chain):
    agent, *_ = chain
    statement = commission_statement_issue(agent, OCT, "CNY")

    zh = pdf_text(commission_statement_pdf(statement))  # the agent's own language: Chinese
    en = pdf_text(commission_statement_pdf(statement, language="en"))

    assert "佣金对账单" in zh and "期末应付佣金" in zh and "Customer One" in zh and "18.50" in zh
    assert "Commission statement" in en and "Closing commission payable" in en
    for text in (zh, en):
        assert "COM-2026-10-agent-s-CNY" in text and "7.50" in text and "11.00" in text and "36.00" in text


def test_a_bank_settlement_pays_the_payable_and_the_statement_shows_it(chain):
    agent, *_ = chain
    finance = staff(StaffRole.FINANCE)

    settlement = commission_settle(
        agent=agent,
        currency="CNY",
        amount=Decimal("10.00"),
        method=CommissionSettlement.Method.BANK,
        settled_on=dt.date(2026, 10, 20),
        reference="WIRE-1",
        actor=finance,
        idempotency_key="settle-1",
    )
    replay = commission_settle(
        agent=agent,
        currency="CNY",
        amount=Decimal("10.00"),
        method="bank",
        settled_on=dt.date(2026, 10, 20),
        reference="WIRE-1",
        actor=finance,
        idempotency_key="settle-1",
    )

    assert replay.pk == settlement.pk
    txn = settlement.journal_transaction
    assert txn.kind == "commission.settle.bank" and txn.book_id is None
    assert {(e.account.kind, e.amount) for e in txn.entries.select_related("account")} == {
        (AccountKind.COMMISSION_PAYABLE, Decimal("10")),
        (AccountKind.CASH_BANK, Decimal("-10")),
    }
    statement = commission_statement_issue(agent, OCT, "CNY")
    assert (statement.settled, statement.closing) == (Decimal("10.00"), Decimal("8.50"))
    en = pdf_text(commission_statement_pdf(statement, language="en"))
    assert "WIRE-1" in en and "Bank transfer" in en
    assert ledger_problems() == []


def test_settlement_is_refused_beyond_what_is_owed_and_for_non_finance(chain):
    agent, *_ = chain
    body = {
        "agent": agent,
        "currency": "CNY",
        "method": "bank",
        "settled_on": dt.date(2026, 10, 20),
        "idempotency_key": "too-much",
    }
    with pytest.raises(ValidationError, match=r"18\.50"):
        commission_settle(**body, amount=Decimal("18.51"), actor=staff(StaffRole.FINANCE))
    with pytest.raises(PermissionDenied):
        commission_settle(**body, amount=Decimal("1"), actor=staff(StaffRole.SALES))
    with pytest.raises(ValidationError, match="open invoices owe 0"):
        commission_settle(**{**body, "method": "offset"}, amount=Decimal("1"), actor=staff(StaffRole.FINANCE))
    assert not CommissionSettlement.objects.exists()


def test_an_offset_pays_the_agents_open_invoice(chain):
    agent, *_ = chain
    bill = invoice(agent, "30.00", dt.date(2026, 10, 5))

    settlement = commission_settle(
        agent=agent,
        currency="CNY",
        amount=Decimal("18.50"),
        method="offset",
        settled_on=dt.date(2026, 10, 25),
        actor=staff(StaffRole.FINANCE),
        idempotency_key="offset-1",
    )

    bill.refresh_from_db()
    assert (bill.amount_paid, bill.status) == (Decimal("18.50"), "partially_paid")
    assert settlement.payment.amount == Decimal("18.50") and settlement.payment.customer_id == agent.pk
    receivable = account_get(kind=AccountKind.RECEIVABLE, currency="CNY", customer=agent)
    cash = account_get(kind=AccountKind.CASH_BANK, currency="CNY")
    assert (receivable.balance, cash.balance) == (Decimal("11.50"), Decimal("0"))  # cash in and out
    statement = commission_statement_issue(agent, OCT, "CNY")
    assert (statement.settled, statement.closing) == (Decimal("18.50"), Decimal("0.00"))
    assert ledger_problems() == []


def _member(customer, role=MemberRole.OWNER):
    return MembershipFactory(customer=customer, user=UserFactory(), role=role).user


def test_the_agent_sees_its_statement_in_the_portal_and_nobody_else_does(client, chain):
    agent, c1, _c2 = chain
    statement = commission_statement_issue(agent, OCT, "CNY")
    other = agency("agent-o")
    detail = reverse("portal-commission-detail", args=[statement.pk])
    pdf = reverse("portal-commission-pdf", args=[statement.pk])

    client.force_login(_member(agent))
    listing = client.get(reverse("portal-commission-list")).content.decode()
    assert statement.number in listing and "18.50" in listing and 'data-testid="nav-commissions"' in listing
    page = client.get(detail).content.decode()
    assert "Customer One" in page and "36.00" in page
    response = client.get(pdf + "?lang=en")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"

    client.force_login(_member(other))
    assert statement.number not in client.get(reverse("portal-commission-list")).content.decode()
    assert client.get(detail).status_code == 404
    assert client.get(pdf).status_code == 404

    client.force_login(_member(c1))
    assert 'data-testid="nav-commissions"' not in client.get(reverse("portal-home")).content.decode()
    assert client.get(reverse("portal-commission-list")).status_code == 403
    assert client.get(detail).status_code == 403


def test_staff_pages_list_show_and_settle_for_finance_only(client, chain):
    agent, *_ = chain
    statement = commission_statement_issue(agent, OCT, "CNY")

    client.force_login(staff(StaffRole.SALES))
    assert client.get(reverse("staff-commission-list")).status_code == 403

    client.force_login(staff(StaffRole.FINANCE))
    listing = client.get(reverse("staff-commission-list"), {"q": "agent-s"}).content.decode()
    assert statement.number in listing
    assert (
        "Customer Two" in client.get(reverse("staff-commission-detail", args=[statement.pk])).content.decode()
    )
    too_much = client.post(
        reverse("staff-commission-settle", args=[statement.pk]),
        {"amount": "99.00", "method": "bank", "settled_on": "2026-10-30", "idempotency_key": "k8"},
    )
    assert too_much.status_code == 400 and "is owed 18.50 CNY of commission" in too_much.content.decode()
    response = client.post(
        reverse("staff-commission-settle", args=[statement.pk]),
        {
            "amount": "5.00",
            "method": "bank",
            "settled_on": "2026-10-30",
            "reference": "W-9",
            "idempotency_key": "k9",
        },
    )
    assert response.status_code == 302
    assert CommissionSettlement.objects.get().amount == Decimal("5.00")
    response = client.post(reverse("staff-commission-issue"), {"period": "2026-10"})
    assert response.status_code == 302
    statement.refresh_from_db()
    assert (statement.settled, statement.closing, statement.revision) == (
        Decimal("5.00"),
        Decimal("13.50"),
        2,
    )

    client.force_login(staff(StaffRole.AUDITOR))
    assert client.get(reverse("staff-commission-detail", args=[statement.pk])).status_code == 200
    assert client.post(reverse("staff-commission-issue"), {"period": "2026-10"}).status_code == 403


def _this_month_instant() -> dt.datetime:
    """A moment ago, but in this month (operator's time zone): usage posts on the day it is ingested, so
    the payable's month is this one."""
    now = timezone.localtime()
    return max(now - dt.timedelta(minutes=1), now.replace(day=1, hour=0, minute=0, second=0, microsecond=0))


def _through_ingest(agent: Customer, customers: list[Customer]):
    """The agency story through real ingestion (prices of tests/billing/chain/test_report_story.py): cost
    6 / 18, the operator's wholesale cost × 1.35, the agent's retail its wholesale × 1.25; each request is
    600,000 input and 200,000 output tokens: wholesale 9.72, retail 12.15."""
    model = AIModelFactory(name="glm-5")
    cost_book = PriceBookFactory(name="Zhipu contract", kind=BookKind.COST, currency="CNY")
    add_prices(cost_book, model, tier(input="6", output="18"))
    wholesale = plan_create(name="Wholesale", currency="CNY")
    add_rule(wholesale, PlanRule.Method.COST_MARKUP, markup=Decimal("0.35"))
    plan_assign(customer=agent, plan=wholesale, effective_from=EPOCH)
    retail = plan_create(name="A Retail", currency="CNY", owner=agent)
    add_rule(retail, PlanRule.Method.WHOLESALE_MARKUP, markup=Decimal("0.25"))
    records = []
    for n, customer in enumerate(customers, start=1):
        BillingTerms.objects.create(customer=customer, mode=BillingTerms.Mode.MONTHLY, currency="CNY")
        GatewayKey.objects.create(key=f"key-{customer.code}", customer=customer)
        plan_assign(customer=customer, plan=retail, effective_from=EPOCH)
        records += [
            {
                "request_id": f"{customer.code}-{i}",
                "occurred_at": _this_month_instant().isoformat(),
                "key": f"key-{customer.code}",
                "model": "glm-5",
                "prompt_tokens": 600_000,
                "completion_tokens": 200_000,
            }
            for i in range(n)
        ]
    result = usage_batch_ingest(source=source_make()[0], records=records, idempotency_key="agency")
    assert result.accepted == len(records) and result.unrated == 0


@pytest.mark.parametrize(
    ("basis", "rate", "per_request", "accrued"),
    [
        ("margin", "0", Decimal("2.43"), Decimal("7.29")),  # retail 12.15 − wholesale 9.72
        ("percent", "0.08", Decimal("0.972"), Decimal("2.92")),  # 8% of 12.15; 2.916 booked, 2.92 shown
    ],
)
def test_through_ingest_the_statement_reads_what_usage_posted(basis, rate, per_request, accrued):
    agent = agency("agent-i", basis=basis, rate=rate)
    e1 = CustomerFactory(name="E One", code="e1", parent=agent)
    e2 = CustomerFactory(name="E Two", code="e2", parent=agent)

    _through_ingest(agent, [e1, e2])  # E1 sends one request, E2 two
    statement = commission_statement_issue(agent, period_of_day(timezone.localdate()), "CNY")

    assert (statement.opening, statement.accrued, statement.settled, statement.closing) == (
        Decimal("0"),
        accrued,
        Decimal("0"),
        accrued,
    )
    lines = [
        (ln["customer"], ln["requests"], Decimal(ln["revenue"]), Decimal(ln["commission"]))
        for ln in statement.lines
    ]
    assert lines == [
        ("E One", 1, Decimal("12.15"), per_request),
        ("E Two", 2, Decimal("24.30"), 2 * per_request),
    ]
    payable = LedgerAccount.objects.get(kind=AccountKind.COMMISSION_PAYABLE, customer=agent)
    assert payable.book_id is None and -payable.balance == 3 * per_request
    assert ledger_problems() == []


def _rho():
    """Reseller Rho sells through agency Tau, whose end customer earned Tau 3.00 in October."""
    reseller = SubDistributorFactory(name="Reseller Rho", code="rho")
    agent = SubDistributorFactory(
        name="Agent Tau", code="tau", parent=reseller, chain_mode=Customer.ChainMode.AGENCY
    )
    end = CustomerFactory(name="End Upsilon", code="ups", parent=agent)
    requests(
        agent,
        end,
        AIModelFactory(name="glm-5"),
        count=2,
        retail="9.00",
        commission="1.50",
        at=dt.datetime(2026, 10, 3, tzinfo=dt.UTC),
    )
    return reseller, agent, end


def test_an_agent_under_a_reseller_is_owed_and_settled_in_the_resellers_book(settings):
    reseller, agent, end = _rho()

    statement = commission_statement_issue(agent, OCT, "CNY")

    assert (end.seller_id, agent.seller_id, statement.book_id) == (reseller.pk, reseller.pk, reseller.pk)
    assert statement.accrued == Decimal("3.00")
    text = pdf_text(commission_statement_pdf(statement, language="en"))
    assert "Reseller Rho" in text and settings.OPERATOR_NAME not in text
    body = {
        "agent": agent,
        "currency": "CNY",
        "amount": Decimal("3.00"),
        "method": "bank",
        "settled_on": dt.date(2026, 10, 30),
        "idempotency_key": "rho-pays-tau",
    }
    # Not the operator's money: its finance may not record cash leaving the reseller's bank; nor may the
    # reseller's viewers, nor the agent paying itself.
    for actor in (
        staff(StaffRole.FINANCE),
        staff(StaffRole.ADMIN),
        _member(reseller, MemberRole.VIEWER),
        _member(agent),
    ):
        with pytest.raises(PermissionDenied):
            commission_settle(**body, actor=actor)
    assert not CommissionSettlement.objects.exists()
    settlement = commission_settle(**body, actor=_member(reseller, MemberRole.BILLING))
    assert settlement.journal_transaction.book_id == reseller.pk and settlement.book_id == reseller.pk
    assert commission_statement_issue(agent, OCT, "CNY").closing == Decimal("0.00")
    assert ledger_problems() == []


def test_the_operators_finance_settles_only_the_operators_book(chain):
    agent, c1, _c2 = chain
    reseller = SubDistributorFactory(name="Reseller Rho", code="rho")
    body = {
        "agent": agent,
        "currency": "CNY",
        "amount": Decimal("1.00"),
        "method": "bank",
        "settled_on": dt.date(2026, 10, 20),
        "idempotency_key": "op",
    }
    for actor in (_member(reseller), _member(agent), _member(c1)):
        with pytest.raises(PermissionDenied):
            commission_settle(**body, actor=actor)
    assert commission_settle(**body, actor=staff(StaffRole.FINANCE)).book_id is None


def test_the_reseller_settles_its_agents_commission_in_its_portal(client):
    reseller, agent, end = _rho()
    statement = commission_statement_issue(agent, OCT, "CNY")
    detail = reverse("portal-agent-commission-detail", args=[statement.pk])
    settle = reverse("portal-agent-commission-settle", args=[statement.pk])
    form = {"amount": "1.00", "method": "bank", "settled_on": "2026-10-30", "reference": "R-1"}

    client.force_login(_member(reseller, MemberRole.VIEWER))
    listing = client.get(reverse("portal-agent-commission-list")).content.decode()
    assert (
        statement.number in listing
        and "Agent Tau" in listing
        and 'data-testid="nav-agent-commissions"' in listing
    )
    page = client.get(detail).content.decode()
    assert "End Upsilon" in page and 'data-testid="commission-settle-form"' not in page
    assert client.post(settle, {**form, "idempotency_key": "v"}).status_code == 403
    pdf = client.get(reverse("portal-agent-commission-pdf", args=[statement.pk]) + "?lang=en")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"

    client.force_login(_member(reseller, MemberRole.OWNER))
    assert 'data-testid="commission-settle-form"' in client.get(detail).content.decode()
    too_much = client.post(settle, {**form, "amount": "9.00", "idempotency_key": "o1"})
    assert too_much.status_code == 400 and "is owed 3.00 CNY of commission" in too_much.content.decode()
    assert client.post(settle, {**form, "idempotency_key": "o2"}).status_code == 302
    settlement = CommissionSettlement.objects.get()
    assert (settlement.amount, settlement.book_id, settlement.reference) == (
        Decimal("1.00"),
        reseller.pk,
        "R-1",
    )

    # Another reseller, the agent and the end customer reach none of it.
    other = SubDistributorFactory(name="Reseller Sigma", code="sigma")
    client.force_login(_member(other))
    assert statement.number not in client.get(reverse("portal-agent-commission-list")).content.decode()
    assert client.get(detail).status_code == 404
    assert client.post(settle, {**form, "idempotency_key": "x1"}).status_code == 404
    for user in (_member(agent), _member(end)):
        client.force_login(user)
        assert client.get(reverse("portal-agent-commission-list")).status_code == 403
        assert client.post(settle, {**form, "idempotency_key": "x2"}).status_code == 403
    assert CommissionSettlement.objects.count() == 1


def test_the_operators_staff_read_a_resellers_statement_but_settle_nothing_there(client):
    _reseller, agent, _end = _rho()
    statement = commission_statement_issue(agent, OCT, "CNY")

    client.force_login(staff(StaffRole.FINANCE))
    page = client.get(reverse("staff-commission-detail", args=[statement.pk])).content.decode()
    assert 'data-testid="commission-settle-form"' not in page
    assert 'data-testid="commission-settled-by"' in page and "Reseller Rho" in page
    response = client.post(
        reverse("staff-commission-settle", args=[statement.pk]),
        {"amount": "1.00", "method": "bank", "settled_on": "2026-10-30", "idempotency_key": "f1"},
    )
    assert response.status_code == 404
    assert not CommissionSettlement.objects.exists()


def test_the_reseller_offsets_its_agents_commission_against_the_agents_open_invoice():
    reseller, agent, _end = _rho()
    bill = invoice(agent, "10.00", dt.date(2026, 10, 5))

    settlement = commission_settle(
        agent=agent,
        currency="CNY",
        amount=Decimal("3.00"),
        method="offset",
        settled_on=dt.date(2026, 10, 25),
        actor=_member(reseller, MemberRole.BILLING),
        idempotency_key="rho-offset",
    )

    bill.refresh_from_db()
    assert (bill.amount_paid, settlement.payment.customer_id) == (Decimal("3.00"), agent.pk)
    receivable = account_get(kind=AccountKind.RECEIVABLE, currency="CNY", customer=agent)
    cash = account_get(kind=AccountKind.CASH_BANK, currency="CNY", book=reseller)
    assert (receivable.book_id, receivable.balance, cash.balance) == (
        reseller.pk,
        Decimal("7.00"),
        Decimal("0"),
    )
    assert ledger_problems() == []
