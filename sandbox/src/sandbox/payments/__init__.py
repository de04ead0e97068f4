"""A Mercado Pago look-alike for the local stack and the tests: the API, a hosted checkout, signed webhooks."""
