"""python -m sandbox: serve the sandbox providers."""

from kit import serve
from sandbox.app import get_settings

if __name__ == "__main__":
    settings = get_settings()
    serve.run("sandbox.app:create_app", host=settings.http_host, port=settings.http_port)
