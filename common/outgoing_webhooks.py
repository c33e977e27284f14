"""Outgoing webhooks reach only public addresses: a webhook URL cannot turn the server on its own network.

Finance and admin type webhook URLs, and the server then POSTs to them: ``http://127.0.0.1:6379/``,
``http://169.254.169.254/`` (cloud metadata) or ``http://10.0.0.5/admin`` would reach services that trust
the server's network position (server-side request forgery). So a webhook may only go to an http(s) URL
whose host resolves to public addresses; hosts listed in ``WEBHOOK_ALLOWED_HOSTS`` (e.g. a gateway on the
private network) are exempt.

Checked twice: when the URL is saved (``validate_webhook_url``, so the form says why) and when each webhook
is sent (``webhook_post``), because DNS can change between the two, or between two lookups ("DNS
rebinding"). At send time the host is resolved once, every address it resolves to is checked, and the
connection goes to the checked address itself: a ``requests`` transport adapter swaps the connection's
address for it while the URL, the ``Host`` header, TLS SNI and certificate checks keep the name. Proxies
from the environment are not used (a proxy would resolve the name again), and redirects are not followed.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from requests.adapters import HTTPAdapter

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ADDRESS_KINDS = {
    "unspecified": gettext_lazy("unspecified"),
    "loopback": gettext_lazy("loopback"),
    "link-local": gettext_lazy("link-local (cloud metadata)"),
    "multicast": gettext_lazy("multicast"),
    "private": gettext_lazy("private-network"),
    "reserved": gettext_lazy("reserved"),
}


class WebhookRefused(Exception):
    """A webhook URL the server must not call; ``message`` says why, translated."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str  # ASCII (IDNA) name or address, as TLS and the Host header want it
    port: int
    host_header: str


def _parse(url: str) -> _Target:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise WebhookRefused(_("This is not a valid URL.")) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise WebhookRefused(_("Webhook URLs must start with http:// or https://."))
    if not parts.hostname:
        raise WebhookRefused(_("The webhook URL has no host."))
    try:
        host = parts.hostname.rstrip(".").encode("idna").decode("ascii")
    except UnicodeError:
        raise WebhookRefused(_("The webhook URL's host is not a valid name.")) from None
    bracketed = f"[{host}]" if ":" in host else host
    return _Target(
        scheme=scheme,
        host=host,
        port=port or (443 if scheme == "https" else 80),
        host_header=f"{bracketed}:{port}" if port else bracketed,
    )


def _allowed(host: str) -> bool:
    return host.lower() in {h.lower().rstrip(".") for h in settings.WEBHOOK_ALLOWED_HOSTS}


def address_kind(address: IPAddress) -> str | None:
    """The kind of non-public address ``address`` is (a key of ADDRESS_KINDS), or None when public."""
    if address.version == 6:
        # ::ffff:127.0.0.1 and 6to4's 2002:7f00:1:: reach the IPv4 address they carry.
        address = address.ipv4_mapped or address.sixtofour or address
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address.is_reserved:
        return "reserved"
    if address.is_private or (address.version == 6 and address.is_site_local):
        return "private"
    # What is left and still not global: shared (carrier-grade NAT) space, benchmarking, documentation.
    return None if address.is_global else "reserved"


def _check(host: str, addresses: list[IPAddress]) -> None:
    for address in addresses:
        kind = address_kind(address)
        if kind is None:
            continue
        if _literal(host) is not None:
            message = _(
                "Webhooks may only go to public addresses: %(address)s is a %(kind)s address. "
                "An administrator can allow it with WEBHOOK_ALLOWED_HOSTS."
            )
        else:
            message = _(
                "Webhooks may only go to public addresses: %(host)s resolves to %(address)s, a %(kind)s "
                "address. An administrator can allow this host with WEBHOOK_ALLOWED_HOSTS."
            )
        raise WebhookRefused(message % {"host": host, "address": address, "kind": ADDRESS_KINDS[kind]})


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _resolve(target: _Target) -> list[IPAddress]:
    """Every address ``target``'s host resolves to (raises ``socket.gaierror`` when it does not)."""
    infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))


def validate_webhook_url(url: str) -> None:
    """Form validator: refuse a URL that is not http(s) or whose host is not public.

    A name that does not resolve yet is accepted (its DNS may be set up later); it is checked again when
    each webhook is sent.
    """
    if not url:
        return
    try:
        target = _parse(url)
        if _allowed(target.host):
            return
        literal = _literal(target.host)
        try:
            addresses = [literal] if literal else _resolve(target)
        except (OSError, UnicodeError):
            return
        _check(target.host, addresses)
    except WebhookRefused as refused:
        raise ValidationError(refused.message, code="webhook_url") from None


class _PinnedAddressAdapter(HTTPAdapter):
    """Connects to ``address`` whatever DNS says now; the URL's name stays for Host, SNI and certificates."""

    def __init__(self, address: IPAddress, server_hostname: str):
        self._address, self._server_hostname = address, server_hostname
        super().__init__(max_retries=0)

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        host_params["host"] = str(self._address)
        if host_params["scheme"] == "https":
            pool_kwargs["server_hostname"] = self._server_hostname
            pool_kwargs["assert_hostname"] = self._server_hostname
        return host_params, pool_kwargs


def webhook_post(url: str, *, body: bytes, headers: dict[str, str], timeout: float) -> requests.Response:
    """POST ``body`` to ``url`` at an address checked now; return the 2xx response.

    Raises ``WebhookRefused`` for a URL the server must not call (not worth retrying), and
    ``requests.RequestException`` when the host does not resolve, the connection fails or the answer is
    not 2xx (a redirect included), so the caller's task retries.
    """
    target = _parse(url)
    try:
        addresses = _resolve(target)
    except (OSError, UnicodeError) as exc:
        raise requests.ConnectionError(f"cannot resolve {target.host}: {exc}") from exc
    if not _allowed(target.host):
        _check(target.host, addresses)
    with requests.Session() as session:
        adapter = _PinnedAddressAdapter(addresses[0], target.host)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        response = session.post(
            url,
            data=body,
            headers={**headers, "Host": target.host_header},
            timeout=timeout,
            allow_redirects=False,
            # None drops HTTP(S)_PROXY from the environment: a proxy would resolve the name again.
            proxies={"http": None, "https": None, "all": None},
        )
    if not 200 <= response.status_code < 300:
        raise requests.HTTPError(f"webhook answered {response.status_code}", response=response)
    return response
