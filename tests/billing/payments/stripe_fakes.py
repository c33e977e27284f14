"""Stripe at its HTTP boundary: recorded API responses, and webhooks signed the way Stripe signs them.

``RecordedStripeHTTP`` is a ``stripe.HTTPClient``: the real ``stripe`` library builds, encodes and sends
every request to it, and parses what it returns, exactly as with the network. Responses are the JSON files
in ``recorded/``; for a created Checkout Session the fields Stripe echoes from the request (reference,
metadata, URLs, amounts) are filled in from the request, as Stripe itself does.
"""

import hashlib
import hmac
import json
import time
from copy import deepcopy
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import stripe

RECORDED = Path(__file__).parent / "recorded"
WEBHOOK_SECRET = "whsec_test_5fK2pQ9xV7nL3mR8tY1wZ4bC6dE0gH2j"
SECRET_KEY = "sk_test_51QbTpyFxK8mWz4LpTestKeyForRecordedResponsesOnly000000000000"


def recorded(name: str) -> dict:
    return json.loads((RECORDED / f"{name}.json").read_text())


class RecordedStripeHTTP(stripe.HTTPClient):
    name = "recorded"

    def __init__(self):
        super().__init__()
        self.requests: list[dict] = []
        self.fail_with: tuple[int, str] | None = None  # (status, recorded file) for the next request
        # The next request is made, but its answer is lost on the way back (a connection reset).
        self.lose_next_answer = False
        self.refunds: dict[str, str] = {}  # idempotency key → refund id: Stripe makes one refund per key

    def request(self, method, url, headers, post_data=None, *, _usage=None):
        params = {k: v[0] for k, v in parse_qs(post_data or "", keep_blank_values=True).items()}
        self.requests.append({"method": method, "url": url, "headers": dict(headers or {}), "params": params})
        response_headers = {
            "Request-Id": f"req_recorded{len(self.requests)}",
            "Content-Type": "application/json",
        }
        if self.fail_with is not None:
            status, name = self.fail_with
            self.fail_with = None
            return json.dumps(recorded(name)), status, response_headers
        path = urlparse(url).path
        if method == "post" and path == "/v1/checkout/sessions":
            return json.dumps(self._session(params)), 200, response_headers
        if method == "post" and path == "/v1/refunds":
            body = self._refund(params, (headers or {}).get("Idempotency-Key", ""))
            if self.lose_next_answer:
                self.lose_next_answer = False
                raise stripe.APIConnectionError("Connection reset by peer", should_retry=False)
            return json.dumps(body), 200, response_headers
        raise AssertionError(f"No recorded response for {method.upper()} {path}")

    def close(self):
        """Nothing to close: no connection is ever opened."""

    @staticmethod
    def _session(params: dict) -> dict:
        body = deepcopy(recorded("checkout_session_create"))
        amounts, i = [], 0
        while f"line_items[{i}][price_data][unit_amount]" in params:
            amounts.append(int(params[f"line_items[{i}][price_data][unit_amount]"]))
            i += 1
        body.update(
            amount_subtotal=sum(amounts),
            amount_total=sum(amounts),
            currency=params["line_items[0][price_data][currency]"],
            client_reference_id=params["client_reference_id"],
            metadata={k[9:-1]: v for k, v in params.items() if k.startswith("metadata[")},
            success_url=params["success_url"],
            cancel_url=params["cancel_url"],
            customer_email=params.get("customer_email"),
        )
        return body

    def _refund(self, params: dict, key: str) -> dict:
        body = deepcopy(recorded("refund_create"))
        # The recorded id for the first refund, a new one for each other key; the same key, the same refund.
        refund_id = self.refunds.setdefault(
            key, body["id"] if not self.refunds else f"re_fake{len(self.refunds)}"
        )
        body.update(
            id=refund_id,
            amount=int(params["amount"]),
            payment_intent=params["payment_intent"],
            metadata={k[9:-1]: v for k, v in params.items() if k.startswith("metadata[")},
        )
        return body


def sign(payload: str, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """Return a Stripe-Signature header: ``t=<ts>,v1=<hex HMAC-SHA256 of "<ts>.<payload>">``."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def event_for(name: str, topup, *, event_id: str | None = None, **object_changes) -> str:
    """Return the JSON body of a recorded event, pointed at ``topup`` (its session, metadata, amounts)."""
    event = recorded(name)
    obj = event["data"]["object"]
    if event_id:
        event["id"] = event_id
    if "metadata" in obj and obj["object"] != "dispute":
        obj["metadata"] = {"customer": str(topup.customer_id), "topup": str(topup.public_id)}
    if obj["object"] == "checkout.session":
        obj["id"] = topup.stripe_session_id
        obj["client_reference_id"] = str(topup.public_id)
    minor = int(topup.charged.scaleb(2))
    for field in ("amount_total", "amount_subtotal", "amount", "amount_received", "amount_captured"):
        if field in obj:
            obj[field] = minor
    if obj["object"] == "charge":
        obj["amount_refunded"] = minor
    obj.update(object_changes)
    return json.dumps(event, indent=2)


def post_event(client, payload: str, *, signature: str | None = None):
    return client.post(
        "/stripe/webhook/",
        data=payload,
        content_type="application/json",
        headers={"Stripe-Signature": signature if signature is not None else sign(payload)},
    )
