import json
import threading
from datetime import timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.utils import timezone

from billing.ledger.models import LedgerAccount
from billing.wallets.expiry import wallet_lots_expire_due
from billing.wallets.locking import wallet_get_or_create
from billing.wallets.models import BalanceSuspension, WalletLot
from billing.wallets.selectors import customer_suspended_for_balance
from billing.wallets.tasks import wallet_lots_expire_task
from common.signed_webhooks import SIGNATURE_HEADER, webhook_signature_verify
from tests.billing.factories import available, grant, spend, topup
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def webhook_receiver(settings):
    """A local HTTP server that records every request it receives, allowed as a webhook host."""
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]  # a local address: refused unless listed
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"headers": dict(self.headers), "body": body})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            """Keep the test output quiet (the default logs every request to stderr)."""

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()


def test_grant_expiry_moves_the_rest_to_breakage_once():
    customer = CustomerFactory()
    grant(customer, "50", "g1", expires_at=timezone.now() + timedelta(days=1))
    spend(customer, "20", "d1")
    later = timezone.now() + timedelta(days=2)
    assert wallet_lots_expire_due(now=later) == 1
    assert wallet_lots_expire_due(now=later) == 0
    breakage = LedgerAccount.objects.get(kind="breakage", currency="CNY")
    assert breakage.display_balance == Decimal("30")
    lot = WalletLot.objects.get()
    assert lot.remaining == 0 and lot.closed_at is not None
    assert available(customer) == 0


def test_the_beat_task_expires_due_lots(eager_celery):
    customer = CustomerFactory()
    grant(customer, "5", "g1", expires_at=timezone.now() + timedelta(days=1))
    WalletLot.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert wallet_lots_expire_task.delay().get() == 1
    assert LedgerAccount.objects.get(kind="breakage").display_balance == Decimal("5")


def test_low_balance_sends_one_email_and_one_signed_webhook(
    eager_celery, webhook_receiver, mailoutbox, settings, django_capture_on_commit_callbacks
):
    url, received = webhook_receiver
    settings.WALLET_WEBHOOK_SECRET = "global-secret"
    customer = CustomerFactory(contact_email="ops@example.com")
    wallet = wallet_get_or_create(customer=customer, currency="CNY")
    wallet.low_balance_threshold = Decimal("50")
    wallet.webhook_url = url
    wallet.save()
    with django_capture_on_commit_callbacks(execute=True):
        topup(customer, "100", "t1")
    with django_capture_on_commit_callbacks(execute=True):
        spend(customer, "60", "d1")  # 40 left: crosses the threshold
    with django_capture_on_commit_callbacks(execute=True):
        spend(customer, "5", "d2")  # still below: no second alert
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["ops@example.com"]
    # people get amounts as the wallet page shows them, not Decimal's raw form (40.000000000000, 0E-12)
    assert "balance is 40.00, at or below your alert threshold of 50.00" in mailoutbox[0].body
    assert "40.000000000000" not in mailoutbox[0].body + mailoutbox[0].subject
    assert len(received) == 1
    hook = received[0]
    payload = json.loads(hook["body"])
    assert payload["type"] == "wallet.low_balance"
    assert payload["available"].startswith("40")
    assert webhook_signature_verify(
        body=hook["body"], header=hook["headers"][SIGNATURE_HEADER], secret="global-secret"
    )
    assert not webhook_signature_verify(
        body=hook["body"] + b" ", header=hook["headers"][SIGNATURE_HEADER], secret="global-secret"
    )
    assert not webhook_signature_verify(
        body=hook["body"], header=hook["headers"][SIGNATURE_HEADER], secret="other"
    )
    # back above the threshold re-arms the alert
    with django_capture_on_commit_callbacks(execute=True):
        topup(customer, "100", "t2")
    with django_capture_on_commit_callbacks(execute=True):
        spend(customer, "100", "d3")
    assert len(mailoutbox) == 2 and len(received) == 2


def test_a_per_customer_secret_wins_over_the_global_one(
    eager_celery, webhook_receiver, settings, django_capture_on_commit_callbacks
):
    url, received = webhook_receiver
    settings.WALLET_WEBHOOK_SECRET = "global-secret"
    customer = CustomerFactory()
    wallet = wallet_get_or_create(customer=customer, currency="CNY")
    wallet.low_balance_threshold = Decimal("1")
    wallet.webhook_url, wallet.webhook_secret = url, "customer-secret"
    wallet.save()
    with django_capture_on_commit_callbacks(execute=True):
        topup(customer, "1", "t1")
    header = received[0]["headers"][SIGNATURE_HEADER]
    assert webhook_signature_verify(body=received[0]["body"], header=header, secret="customer-secret")


def test_reaching_the_floor_suspends_and_rising_above_restores(
    eager_celery, webhook_receiver, mailoutbox, django_capture_on_commit_callbacks
):
    url, received = webhook_receiver
    customer = CustomerFactory(contact_email="ops@example.com")
    wallet = wallet_get_or_create(customer=customer, currency="CNY")
    wallet.webhook_url = url
    wallet.save()
    topup(customer, "10", "t1")
    assert not customer_suspended_for_balance(customer=customer)
    with django_capture_on_commit_callbacks(execute=True):
        spend(customer, "10", "d1")
    assert customer_suspended_for_balance(customer=customer)
    suspension = BalanceSuspension.objects.get()
    assert suspension.balance_at_start == 0 and suspension.ended_at is None
    assert "wallet.suspended" in [json.loads(r["body"])["type"] for r in received]
    assert any("suspended" in m.subject for m in mailoutbox)
    with django_capture_on_commit_callbacks(execute=True):
        topup(customer, "0.01", "t2")
    assert not customer_suspended_for_balance(customer=customer)
    assert BalanceSuspension.objects.get().ended_at is not None
    assert json.loads(received[-1]["body"])["type"] == "wallet.restored"
