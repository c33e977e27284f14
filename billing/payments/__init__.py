"""Top-ups: card payments through Stripe Checkout, bank transfers recorded by finance, redemption codes."""
