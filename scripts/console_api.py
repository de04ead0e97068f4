"""The console's API client, generated from the gateway's OpenAPI, so the console and the API cannot drift.

    python scripts/console_api.py            # write web/src/api/openapi.json and web/src/api/schema.d.ts
    python scripts/console_api.py --check    # fail when either is stale (part of `just lint`)
    python scripts/console_api.py --source http://127.0.0.1:8000/schema/openapi.json   # or a file

Without --source the document is built in-process, without any server: each Litestar app of stack.toml
(`<service>.app.create_api()`) renders `app.openapi_schema.to_schema()`, and they are merged by the gateway's
own `gateway.openapi.merge`, so the client is generated from the very document the gateway serves at
`/api/v1/openapi.json` (which --source can also point at).
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import json
import os
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parents[1]
API_DIR = ROOT / "web" / "src" / "api"
SCHEMA_JSON = API_DIR / "openapi.json"
SCHEMA_TS = API_DIR / "schema.d.ts"
GENERATOR = ROOT / "web" / "node_modules" / "openapi-typescript" / "bin" / "cli.js"


def _app_schema(service: str) -> dict[str, Any]:
    module = importlib.import_module(f"{service}.app")
    app = module.create_api()
    return app.openapi_schema.to_schema()  # type: ignore[no-any-return]


def merged_schema() -> dict[str, Any]:
    """The document the gateway serves at /api/v1/openapi.json (gateway.openapi.merge), built in-process."""
    stack = tomllib.loads((ROOT / "stack.toml").read_text())
    services = [svc["name"] for svc in stack["service"] if svc["name"] != "gateway"]
    with tempfile.TemporaryDirectory() as keys:
        # The gateway loads its signing key when the app is made; a throwaway one is enough for the schema.
        os.environ.setdefault("GATEWAY_GENERATE_DEV_KEYS", "true")
        os.environ.setdefault("GATEWAY_JWT_PRIVATE_KEY_FILE", str(Path(keys) / "jwt.pem"))
        os.environ.setdefault("GATEWAY_CONSOLE_DIR", "")  # the files it serves are no part of the schema
        gateway = _app_schema("gateway")
        documents = {service: _app_schema(service) for service in services}
        merge = importlib.import_module("gateway.openapi").merge
        return merge(gateway, documents, _gateway_public_routes())  # type: ignore[no-any-return]


def _gateway_public_routes() -> dict[str, str]:
    settings = importlib.import_module("gateway.settings").get_settings()
    return settings.public_route_map()  # type: ignore[no-any-return]


def load_source(source: str) -> dict[str, Any]:
    if source.startswith(("http://", "https://")):
        with urlopen(source, timeout=30) as answer:
            return json.loads(answer.read())  # type: ignore[no-any-return]
    return json.loads(Path(source).read_text())  # type: ignore[no-any-return]


def render(schema: dict[str, Any], out_dir: Path) -> tuple[str, str]:
    """The committed JSON document and the TypeScript types openapi-typescript makes of it."""
    text = json.dumps(schema, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    json_path = out_dir / "openapi.json"
    ts_path = out_dir / "schema.d.ts"
    json_path.write_text(text)
    if not GENERATOR.exists():
        sys.exit("web/node_modules is missing: run `just console-install` (npm ci in web/) first")
    subprocess.run(
        ["node", str(GENERATOR), str(json_path), "-o", str(ts_path), "--root-types"],
        check=True,
        capture_output=True,
        text=True,
    )
    return text, ts_path.read_text()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail when the committed client is stale")
    parser.add_argument("--source", help="an OpenAPI document (URL or file) instead of the in-process merge")
    args = parser.parse_args()
    schema = load_source(args.source) if args.source else merged_schema()
    if not args.check:
        API_DIR.mkdir(parents=True, exist_ok=True)
        render(schema, API_DIR)
        print(f"wrote {SCHEMA_JSON.relative_to(ROOT)} and {SCHEMA_TS.relative_to(ROOT)}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        fresh_json, fresh_ts = render(schema, Path(tmp))
    stale = []
    for path, fresh in ((SCHEMA_JSON, fresh_json), (SCHEMA_TS, fresh_ts)):
        current = path.read_text() if path.exists() else ""
        if current != fresh:
            diff = difflib.unified_diff(current.splitlines(), fresh.splitlines(), str(path), "generated", lineterm="")
            stale.append("\n".join(list(diff)[:40]))
    if stale:
        print("The console's API client is stale; run `just console-api` and commit the result.", file=sys.stderr)
        print("\n".join(stale), file=sys.stderr)
        return 1
    print("console API client is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
