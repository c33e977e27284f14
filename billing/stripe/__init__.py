"""Our side of Stripe's API: the calls we make (``api``) and strict reads of the objects it sends
(``objects``). Top-ups (payments) and invoice card payments (receivables) both stand on it; the
``stripe`` library itself is imported only by ``api``."""
