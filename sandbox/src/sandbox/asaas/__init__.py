"""An Asaas look-alike for the local stack and the tests: PIX charges, the invoice page, webhooks with a token."""
