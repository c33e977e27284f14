from tests.billing.dunning.conftest import _clear_cache, gateway, webhook_receiver  # noqa: F401
from tests.billing.usage.conftest import model, source  # noqa: F401
