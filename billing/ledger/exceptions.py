"""Why a posting was refused. Each is raised before anything is written (or rolls it back)."""


class LedgerError(Exception):
    """A posting was refused; the message says why and nothing was written."""


class AppendOnlyError(LedgerError):
    """Someone tried to change or delete a posted entry or transaction."""


class UnbalancedTransactionError(LedgerError):
    """The entries do not sum to zero in some currency."""


class IdempotencyConflictError(LedgerError):
    """The idempotency key was already used for a different request."""

    def __init__(self, message: str, *, existing=None):
        super().__init__(message)
        self.existing = existing
