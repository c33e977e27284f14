"""For the tests that run traffic through the real LiteLLM package and send what its generic API logger
POSTs to our endpoint (test_connectors_litellm_real.py, test_litellm_deployed.py): the run and the
delivery (the LiteLLM gateway source's client is the ``litellm_gateway`` fixture, conftest.py)."""

import litellm
from litellm.integrations.generic_api.generic_api_callback import GenericAPILogger
from litellm.litellm_core_utils.logging_worker import GLOBAL_LOGGING_WORKER
from litellm.responses.streaming_iterator import drain_logging_tasks


async def logged(logger: GenericAPILogger, traffic) -> None:
    """Run ``traffic`` (an async callable) with ``logger`` as LiteLLM's one callback, then send what the
    logger still holds."""
    previous = litellm.callbacks
    litellm.callbacks = [logger]
    try:
        await traffic()
        # LiteLLM logs after it answers: wait for its logging tasks, then send what the logger holds.
        await drain_logging_tasks()
        await GLOBAL_LOGGING_WORKER.flush()
        await logger.flush_queue()
    finally:
        # LiteLLM promotes a callback into its internal lists on the first call: take it out of them all,
        # or a later run (another test module's) would log to this one's capture too.
        litellm.logging_callback_manager.remove_callback_from_all_lists(logger)
        litellm.callbacks = previous


def deliver(client, body: str) -> dict:
    """POST one logger body to ``/api/v1/usage/litellm``; the answer, which must be a 200."""
    response = client.generic("POST", "/api/v1/usage/litellm", body.encode(), content_type="application/json")
    assert response.status_code == 200, response.content[:500]
    return response.json()
