"""Why a wallet operation was refused; nothing was written when one of these is raised."""

from billing.ledger.exceptions import LedgerError


class WalletError(LedgerError):
    """A wallet operation was refused; the message says why."""


class WalletFloorError(WalletError):
    """The debit would take the available balance below the wallet's floor."""

    def __init__(self, message: str, *, available=None, floor=None):
        super().__init__(message)
        self.available = available
        self.floor = floor
