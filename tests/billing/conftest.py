"""Every billing test that touched the database ends with ``billing_verify``'s check: no rated usage may be
left outside every invoice, wallet debit and open period (issue #16), whatever the test did.

A test that corrupts usage or the ledger on purpose (writing a rollup or an account by hand to show how
something copes) opts out with ``@pytest.mark.corrupts_billing("why")``; say why, and use it sparingly.
"""

import pytest

from billing.invoicing.coverage import usage_coverage_problems


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "corrupts_billing(reason): the test breaks usage or ledger data on purpose; billing_verify is not"
        " run after it",
    )


@pytest.fixture(autouse=True)
def billing_verified(request):
    """After the test, run the usage coverage check on what it left in the database; fail on problems."""
    marker = request.node.get_closest_marker("django_db")
    transactional = "transactional_db" in request.fixturenames or (
        marker is not None and marker.kwargs.get("transaction", False)
    )
    uses_db = marker is not None or transactional or "db" in request.fixturenames
    if not uses_db or request.node.get_closest_marker("corrupts_billing") is not None:
        yield
        return
    # Set the database up before this fixture, so the check runs before the test's data is rolled back.
    request.getfixturevalue("transactional_db" if transactional else "db")
    yield
    problems = usage_coverage_problems()
    if problems:
        pytest.fail("billing_verify after this test:\n" + "\n".join(problems), pytrace=False)
