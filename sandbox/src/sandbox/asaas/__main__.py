"""python -m sandbox.asaas: serve the Asaas sandbox."""

from kit import serve
from sandbox.asaas.app import get_settings

if __name__ == "__main__":
    settings = get_settings()
    serve.run("sandbox.asaas.app:create_app", host=settings.http_host, port=settings.http_port)
