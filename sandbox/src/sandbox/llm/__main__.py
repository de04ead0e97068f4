"""python -m sandbox.llm: serve the LLM sandbox."""

from kit import serve
from sandbox.llm.app import get_settings

if __name__ == "__main__":
    settings = get_settings()
    serve.run("sandbox.llm.app:create_app", host=settings.http_host, port=settings.http_port)
