"""Outbound balance notifications: e-mail and signed webhooks.

Webhooks are signed as every webhook we send (``common.signed_webhooks``), keyed with the wallet's secret
or else ``WALLET_WEBHOOK_SECRET``.
"""

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils.translation import gettext as _
from django.utils.translation import override

from accounts.identity import seller_identity, sender_address
from billing.wallets.models import Wallet
from common.currencies import amount_display
from common.signed_webhooks import signed_webhook_send


def webhook_secret_for(wallet: Wallet) -> str:
    return wallet.webhook_secret or getattr(settings, "WALLET_WEBHOOK_SECRET", "")


def wallet_webhook_send(*, wallet: Wallet, payload: dict) -> int | None:
    """POST ``payload`` to the wallet's webhook URL, signed; return the HTTP status, None if not configured.

    Raises ``requests.RequestException`` on a network error or a non-2xx answer so the task retries, and
    ``WebhookRefused`` when the URL's host is not a public address (``common.outgoing_webhooks``).
    """
    secret = webhook_secret_for(wallet)
    if not wallet.webhook_url or not secret:
        return None
    return signed_webhook_send(url=wallet.webhook_url, secret=secret, payload=payload)


def wallet_email_send(*, wallet: Wallet, payload: dict) -> bool:
    """E-mail the customer about ``payload`` in its language; False when there is no address.

    From the customer's seller (``accounts.identity``): a reseller's customer hears from the reseller,
    signed with its name, replies to its billing e-mail, and never of the operator."""
    recipient = wallet.alert_email or wallet.customer.contact_email
    if not recipient:
        return False
    seller = seller_identity(wallet.customer)
    with override(wallet.customer.language):
        values = {
            "customer": wallet.customer.name,
            # The payload keeps exact amounts for machines; people read them like the wallet page shows them.
            "available": amount_display(payload["available"], payload["currency"]),
            "currency": payload["currency"],
            "floor": amount_display(payload["floor"], payload["currency"]),
            "threshold": amount_display(payload.get("threshold"), payload["currency"]),
        }
        if payload["type"] == "wallet.floor_overshoot":
            values["excess"] = amount_display(payload["excess"], payload["currency"])
            subject = _("Hard limit exceeded: your %(currency)s balance went below its limit") % values
            body = (
                _(
                    "Dear %(customer)s,\n\nrequests already under way when service stopped took your "
                    "available %(currency)s balance to %(available)s, %(excess)s below its limit of "
                    "%(floor)s. Service stays suspended; top up to restore it.\n"
                )
                % values
            )
        elif payload["type"] == "wallet.suspended" and payload.get("reason") == "balance_reserve":
            values["reserve"] = amount_display(payload["reserve"], payload["currency"])
            subject = _("Service suspended: your %(currency)s balance is close to its limit") % values
            body = (
                _(
                    "Dear %(customer)s,\n\nyour available %(currency)s balance is %(available)s. Less a "
                    "reserve of %(reserve)s for your recent spending it is at or below its limit of "
                    "%(floor)s, so service is suspended before the limit is crossed. Top up to restore it.\n"
                )
                % values
            )
        elif payload["type"] == "wallet.suspended":
            subject = _("Service suspended: your %(currency)s balance reached its limit") % values
            body = (
                _(
                    "Dear %(customer)s,\n\nyour available %(currency)s balance is %(available)s, "
                    "at or below its limit of %(floor)s, so service is suspended. Top up to restore it.\n"
                )
                % values
            )
        else:
            subject = _("Low balance: %(available)s %(currency)s left") % values
            body = (
                _(
                    "Dear %(customer)s,\n\nyour available %(currency)s balance is %(available)s, "
                    "at or below your alert threshold of %(threshold)s. "
                    "Please top up to avoid interruption.\n"
                )
                % values
            )
    EmailMessage(
        subject=subject,
        body=f"{body}\n{seller.name}\n",
        from_email=sender_address(seller),
        to=[recipient],
        reply_to=[seller.email] if seller.email else None,
    ).send()
    return True
