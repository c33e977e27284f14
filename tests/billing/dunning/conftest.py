import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()


@pytest.fixture
def webhook_receiver(settings):
    """A local HTTP server that records every request it receives, allowed as a webhook host."""
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]  # a local address: refused unless listed
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"headers": dict(self.headers), "body": body, "json": json.loads(body)})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            """Keep the test output quiet."""

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()


@pytest.fixture
def gateway(webhook_receiver):
    """A gateway source that listens for webhooks, and an API client authenticated as it."""
    from rest_framework.test import APIClient

    from tests.billing.usage.factories import source_make

    url, received = webhook_receiver
    _source, token = source_make(name="edge", webhook_url=url, webhook_secret="gw-secret")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client, received
