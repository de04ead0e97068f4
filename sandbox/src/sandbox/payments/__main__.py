"""python -m sandbox.payments: serve the payment provider sandbox."""

from kit import serve
from sandbox.payments.app import get_settings

if __name__ == "__main__":
    settings = get_settings()
    serve.run("sandbox.payments.app:create_app", host=settings.http_host, port=settings.http_port)
