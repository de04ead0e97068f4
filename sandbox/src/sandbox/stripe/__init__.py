"""A Stripe look-alike for the local stack and the tests: Checkout Sessions, a hosted checkout, signed events."""
