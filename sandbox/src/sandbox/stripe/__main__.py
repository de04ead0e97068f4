"""python -m sandbox.stripe: serve the Stripe sandbox."""

from kit import serve
from sandbox.stripe.app import get_settings

if __name__ == "__main__":
    settings = get_settings()
    serve.run("sandbox.stripe.app:create_app", host=settings.http_host, port=settings.http_port)
