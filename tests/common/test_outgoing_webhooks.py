"""Webhooks go only to public addresses (SSRF): refused when typed, and when sent, despite DNS tricks."""

import datetime as dt
import ipaddress
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from unittest import mock

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.utils import translation

from accounts.models import StaffRole
from billing.gateway.forms import GatewaySourceForm
from billing.gateway.webhooks import gateway_webhook_send
from billing.wallets.forms import WalletSettingsForm
from billing.wallets.locking import wallet_get_or_create
from billing.wallets.notifications import wallet_webhook_send
from common.outgoing_webhooks import WebhookRefused, address_kind, webhook_post
from common.signed_webhooks import SIGNATURE_HEADER, webhook_signature_verify
from tests.billing.factories import staff
from tests.billing.usage.factories import source_make
from tests.factories import CustomerFactory

# One address of every kind a webhook must not reach, and the kind the refusal names.
REFUSED = {
    "127.0.0.1": "loopback",
    "127.8.9.10": "loopback",
    "::1": "loopback",
    "169.254.169.254": "link-local",  # cloud metadata
    "fe80::1": "link-local",
    "10.1.2.3": "private",
    "172.16.0.1": "private",
    "172.31.255.254": "private",
    "192.168.1.1": "private",
    "fc00::1": "private",
    "fd12:3456::1": "private",
    "0.0.0.0": "unspecified",
    "::": "unspecified",
    "224.0.0.1": "multicast",
    "ff02::1": "multicast",
    "240.0.0.1": "reserved",
    "100.64.0.1": "reserved",  # carrier-grade NAT: not global
    "::ffff:127.0.0.1": "loopback",  # IPv4-mapped IPv6
    "::ffff:169.254.169.254": "link-local",
    "::ffff:10.0.0.1": "private",
    "2002:7f00:1::": "loopback",  # 6to4 around 127.0.0.1
}
PUBLIC = ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"]


def _url(address: str, port: int = 8080) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"http://{host}:{port}/hook"


def _resolving(names: dict[str, list[str]]):
    """Patch DNS: each name in ``names`` resolves to its addresses (in turn, when several lookups happen)."""
    real = socket.getaddrinfo
    calls: dict[str, int] = {}

    def fake(host, port, *args, **kwargs):
        if host not in names:
            return real(host, port, *args, **kwargs)
        answers = names[host]
        address = answers[min(calls.get(host, 0), len(answers) - 1)]
        calls[host] = calls.get(host, 0) + 1
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sockaddr = (address, port, 0, 0) if family == socket.AF_INET6 else (address, port)
        return [(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr)]

    return mock.patch("socket.getaddrinfo", side_effect=fake), calls


@pytest.fixture
def receiver():
    """A real HTTP server on 127.0.0.1 recording what it receives; ``status`` sets its answer."""
    received: list[dict] = []
    answer = {"status": 204, "location": None}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"headers": dict(self.headers), "body": body, "path": self.path})
            self.send_response(answer["status"])
            if answer["location"]:
                self.send_header("Location", answer["location"])
            self.end_headers()

        def log_message(self, *args):
            """Quiet."""

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_port, received, answer
    server.shutdown()
    server.server_close()


# -- which addresses --------------------------------------------------------------------------------


@pytest.mark.parametrize(("address", "kind"), REFUSED.items())
def test_every_non_public_address_kind_is_named(address, kind):
    assert address_kind(ipaddress.ip_address(address)) == kind


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address):
    assert address_kind(ipaddress.ip_address(address)) is None


# -- the forms say why --------------------------------------------------------------------------------


def _wallet_form(url: str):
    wallet = wallet_get_or_create(customer=CustomerFactory(), currency="CNY")
    data = {
        "floor": "0",
        "limit_mode": "soft",
        "low_balance_threshold": "",
        "alert_email": "",
        "webhook_url": url,
    }
    return WalletSettingsForm(data, instance=wallet)


def _source_form(url: str):
    data = {
        "name": "edge",
        "kind": "generic",
        "cost_currency": "USD",
        "webhook_url": url,
        "webhook_secret": "s",
    }
    return GatewaySourceForm(data)


@pytest.mark.django_db
@pytest.mark.parametrize("make_form", [_wallet_form, _source_form])
def test_forms_refuse_every_non_public_address_and_say_why(make_form, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    for address, kind in REFUSED.items():
        form = make_form(_url(address))
        assert not form.is_valid(), address
        (message,) = form.errors["webhook_url"]
        assert "public addresses" in message and kind.split("-")[0] in message, (address, message)
    name_form = make_form("http://localhost:8000/hook")  # a name is resolved, not trusted
    assert not name_form.is_valid() and "loopback" in name_form.errors["webhook_url"][0]
    for url in ("ftp://8.8.8.8/hook", "file:///etc/passwd", "gopher://8.8.8.8/"):
        assert not make_form(url).is_valid(), url


@pytest.mark.django_db
@pytest.mark.parametrize("make_form", [_wallet_form, _source_form])
def test_forms_accept_public_and_allow_listed_hosts(make_form, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["hooks.internal", "127.0.0.1"]
    patch, _calls = _resolving({"hooks.internal": ["10.0.0.7"], "public.example": ["93.184.216.34"]})
    with patch:
        for url in ("https://public.example/hook", "http://hooks.internal/x", "http://127.0.0.1:9/x"):
            form = make_form(url)
            assert form.is_valid(), (url, form.errors)


@pytest.mark.django_db
def test_the_wallet_settings_page_says_why_in_chinese_too(client, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    customer = CustomerFactory()
    client.force_login(staff(StaffRole.FINANCE))
    data = {"floor": "0", "webhook_url": "http://127.0.0.1:18731/hook"}
    url = f"/dashboard/customers/{customer.pk}/wallet/settings/?currency=CNY"
    page = client.post(url, data, follow=True).content.decode()
    assert "127.0.0.1" in page and "loopback" in page
    with translation.override("zh-hans"):
        assert "公网" in str(_wallet_form("http://10.0.0.1/").errors["webhook_url"][0])
    wallet = wallet_get_or_create(customer=customer, currency="CNY")
    assert wallet.webhook_url == ""


# -- sending: resolved once, checked, then connected to that address ---------------------------------


def test_a_name_resolving_to_loopback_is_refused_at_send_time(receiver, settings):
    port, received, _answer = receiver
    settings.WEBHOOK_ALLOWED_HOSTS = []
    patch, _calls = _resolving({"innocent.example": ["127.0.0.1"]})
    with patch, pytest.raises(WebhookRefused, match="loopback"):
        webhook_post(f"http://innocent.example:{port}/hook", body=b"{}", headers={}, timeout=5)
    assert received == []


@pytest.mark.django_db
def test_a_local_server_receives_nothing_unless_allow_listed(receiver, settings):
    port, received, _answer = receiver
    settings.WEBHOOK_ALLOWED_HOSTS = []
    settings.WALLET_WEBHOOK_SECRET = "global-secret"
    wallet = wallet_get_or_create(customer=CustomerFactory(), currency="CNY")
    wallet.webhook_url = f"http://127.0.0.1:{port}/hook"  # saved before the check existed
    wallet.save()
    source, _token = source_make(name="edge", webhook_url=f"http://127.0.0.1:{port}/gw", webhook_secret="gw")
    payload = {"id": "evt_1", "type": "wallet.low_balance"}
    with pytest.raises(WebhookRefused):
        wallet_webhook_send(wallet=wallet, payload=payload)
    with pytest.raises(WebhookRefused):
        gateway_webhook_send(source=source, payload=payload)
    assert received == []

    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    assert wallet_webhook_send(wallet=wallet, payload=payload) == 204
    assert gateway_webhook_send(source=source, payload=payload) == 204
    assert [r["path"] for r in received] == ["/hook", "/gw"]
    hook = received[0]
    assert webhook_signature_verify(
        body=hook["body"], header=hook["headers"][SIGNATURE_HEADER], secret="global-secret"
    )


def test_the_connection_goes_to_the_checked_address_not_a_second_lookup(receiver, settings):
    """DNS rebinding: the first answer is checked; a later, different answer is never used."""
    port, received, _answer = receiver
    settings.WEBHOOK_ALLOWED_HOSTS = ["hooks.internal"]
    patch, calls = _resolving({"hooks.internal": ["127.0.0.1", "10.255.255.1"]})
    with patch:
        response = webhook_post(f"http://hooks.internal:{port}/hook", body=b"{}", headers={}, timeout=5)
    assert response.status_code == 204 and calls == {"hooks.internal": 1}
    assert received[0]["headers"]["Host"] == f"hooks.internal:{port}"


def test_redirects_are_not_followed(receiver, settings):
    port, received, answer = receiver
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    answer.update(status=307, location="http://169.254.169.254/latest/meta-data/")
    with pytest.raises(requests.HTTPError):
        webhook_post(f"http://127.0.0.1:{port}/hook", body=b"{}", headers={}, timeout=5)
    assert len(received) == 1


def test_a_name_that_does_not_resolve_is_a_retryable_error(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    with pytest.raises(requests.ConnectionError):
        webhook_post("http://no-such-host.invalid/hook", body=b"{}", headers={}, timeout=5)


def test_non_http_schemes_are_refused_at_send_time(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    for url in ("file:///etc/passwd", "ftp://127.0.0.1/x", "http:///nohost"):
        with pytest.raises(WebhookRefused):
            webhook_post(url, body=b"{}", headers={}, timeout=5)


def _certificate(tmp_path, name: str):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


def test_https_keeps_the_name_for_sni_and_the_certificate(receiver, settings, tmp_path, monkeypatch):
    """Connecting to the pinned address, TLS still sends and verifies the URL's host name."""
    _port, received, _answer = receiver
    cert_file, key_file = _certificate(tmp_path, "hooks.internal")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    sni: list[str] = []
    context.sni_callback = lambda _sock, name, _ctx: sni.append(name)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append({"host": self.headers["Host"]})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            """Quiet."""

    server = HTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert_file))
    settings.WEBHOOK_ALLOWED_HOSTS = ["hooks.internal", "other.internal"]
    patch, _calls = _resolving({"hooks.internal": ["127.0.0.1"], "other.internal": ["127.0.0.1"]})
    try:
        with patch:
            url = f"https://hooks.internal:{server.server_port}/hook"
            assert webhook_post(url, body=b"{}", headers={}, timeout=5).status_code == 204
            with pytest.raises(requests.exceptions.SSLError):  # the certificate is not other.internal's
                webhook_post(
                    f"https://other.internal:{server.server_port}/", body=b"{}", headers={}, timeout=5
                )
    finally:
        server.shutdown()
        server.server_close()
    assert sni[0] == "hooks.internal"
    assert received == [{"host": f"hooks.internal:{server.server_port}"}]
