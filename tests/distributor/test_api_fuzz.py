"""schemathesis against our OpenAPI schema: no input gets a 5xx or a status the schema does not document.

Every operation is called with schema-valid (positive) and schema-breaking (negative) requests, as a
signed-in gateway (bearer token) and a signed-in staff session that passed the second factor, through the
WSGI application in this process, so the calls see this test's database. Bounded: ``EXAMPLES`` cases per
operation and mode (``API_FUZZ_EXAMPLES``). The number of cases run is printed at the end
(``api_fuzz_cases: N``).
"""

import os
import secrets

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import StaffRole
from distributor.wsgi import application
from tests.billing.usage.factories import customer_make, default_plan, priced_model, source_make
from tests.factories import StaffFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

# 25 in the suite; API_FUZZ_EXAMPLES=500 for a deeper run by hand.
EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "25"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
CASES_RUN: dict[str, int] = {}


def _schema():
    # Built in-process: the served schema is for signed-in users only, and this is the same document.
    document = SchemaGenerator().get_schema(request=None, public=True)
    schema = schemathesis.openapi.from_dict(document)
    schema.app = application
    return schema


SCHEMA = _schema()
OPERATIONS = {op.ok().label: op.ok() for op in SCHEMA.get_all_operations()}


@pytest.fixture(scope="module", autouse=True)
def report_cases(request):
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None and CASES_RUN:
        with capture.global_and_fixture_disabled():  # shown even when the tests pass
            reporter.write_line(f"\napi_fuzz_cases: {sum(CASES_RUN.values())}")
            reporter.write_line(f"api_fuzz_operations_and_modes: {len(CASES_RUN)}")


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """Requests go through the real WSGI handler, which closes the database connection after each one
    (as Django's test client prevents); here that connection holds the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def credentials():
    """A gateway token, a staff session that passed TOTP, and the CSRF pair a session POST needs."""
    priced_model()
    default_plan()
    customer_make(key="key-a")
    _source, token = source_make()
    staff = Client()
    staff.force_login(StaffFactory(staff_role=StaffRole.FINANCE))
    csrf = secrets.token_hex(16)  # a 32-character secret: Django accepts it unmasked in the header
    return {
        "headers": {"Authorization": f"Bearer {token}", "X-CSRFToken": csrf},
        "cookies": {"sessionid": staff.cookies["sessionid"].value, "csrftoken": csrf},
    }


def test_the_schema_lists_every_api_operation():
    assert set(OPERATIONS) == {
        "GET /api/v1/gateway/status",
        "POST /api/v1/quotes",
        "POST /api/v1/usage/batches",
        "POST /api/v1/usage/litellm",
        "GET /api/v1/reports/aging",
        "GET /api/v1/reports/ecl",
    }


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_no_input_gets_a_server_error_or_an_undocumented_status(credentials, label, mode):
    operation = OPERATIONS[label]

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        CASES_RUN[f"{label} {mode}"] = CASES_RUN.get(f"{label} {mode}", 0) + 1
        response = case.call(headers=credentials["headers"], cookies=credentials["cookies"])
        case.validate_response(response, checks=CHECKS)

    run()
    assert CASES_RUN[f"{label} {mode}"] > 0
