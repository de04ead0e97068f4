# ClinicFlow tasks. On a fresh machine run them through `python3 dev.py <recipe>`,
# which installs uv and just first; afterwards plain `just <recipe>` works too.
set shell := ["bash", "-euo", "pipefail", "-c"]
export PATH := justfile_directory() / ".tools/bin:" + env_var("PATH")

# list the recipes
default:
    @just --list

# install every workspace member and the dev tools from uv.lock
sync:
    uv sync --all-packages --locked --quiet

# start PostgreSQL, Redis, Kafka, every service, the gateway and the sandboxes; Ctrl-C stops all
# (`python3 dev.py up` runs the same and ends quietly on Ctrl-C; `just` itself reports the SIGINT)
up: sync console-build
    uv run --no-sync python -m devkit.stack up

# run all tests (unit, integration, end-to-end, fault, deploy manifests); extra args go to pytest
test *args: sync console-build
    bash deploy/k8s/tools.sh
    cd web && npm test --silent
    uv run --no-sync python -m pytest {{args}}

# migrate every service database of the local stack to the latest revision
migrate: sync
    uv run --no-sync python -m devkit.stack migrate

# ruff, formatting, mypy, import contracts, declared dependencies (deptry), stale generated docs
lint: sync console-install
    uv run --no-sync ruff check .
    uv run --no-sync ruff format --check .
    uv run --no-sync mypy
    uv run --no-sync lint-imports
    uv run --no-sync scripts/deptry_all.sh
    uv run --no-sync python -m contracts.catalogue --check
    uv run --no-sync python scripts/console_api.py --check
    cd web && npm run --silent typecheck
    uv run --no-sync python scripts/registry.py --check

# a new service in the shared shape, registered everywhere from stack.toml: `just new-service payments`
new-service name *args: sync
    uv run --no-sync python scripts/new_service.py {{name}} {{args}}

# regenerate every registration (pyproject, image, Kubernetes, gateway routes) from stack.toml
services: sync
    uv run --no-sync python scripts/registry.py sync

# in a temporary copy: `just new-service demo`, lint, its tests, remove it, and the tree is as before
check-new-service:
    bash scripts/check_new_service.sh

# format and autofix
fmt: sync
    uv run --no-sync ruff format .
    uv run --no-sync ruff check --fix .

# regenerate contracts/asyncapi.yaml and docs/events.md from contracts/
contracts: sync
    uv run --no-sync python -m contracts.catalogue

# benchmarks: `just bench intake|leads|payments [args]`
bench what="intake" *args: sync
    uv run --no-sync python scripts/bench_{{what}}.py {{args}}

# dead letters: `just dlq list clinicflow.leads.events.dlq`, `just dlq replay <topic>`
dlq command topic: sync
    uv run --no-sync python -m kit.dlq {{command}} {{topic}}

# new Alembic revision for a service from its models
makemigration service message: sync
    uv run --no-sync python scripts/makemigration.py {{service}} "{{message}}"

# follow the local stack's logs
logs:
    tail -F .local/logs/*.log

# the staff console's npm packages, exactly as web/package-lock.json says (again only when the lock changes)
console-install:
    #!/usr/bin/env bash
    set -euo pipefail
    # A .tools/ made before Node.js joined it: dev.py adds it (its pin is the only one), then runs `just --version`.
    [ -x .tools/bin/node ] || python3 dev.py --version >/dev/null
    cd web
    want=$(sha256sum package-lock.json | cut -d' ' -f1)
    if [ "$(cat node_modules/.clinicflow-lock 2>/dev/null)" != "$want" ]; then
        echo "web: npm ci (node $(node --version), npm $(npm --version)) ..."
        npm ci --no-audit --no-fund --loglevel=error
        echo "$want" > node_modules/.clinicflow-lock
    fi

# build the staff console into web/dist (the gateway serves it at /) and the patient pages into web/dist-patient
console-build: console-install
    cd web && npm run --silent build

# regenerate the console's API client (web/src/api) from the gateway's and the services' OpenAPI;
# `just console-api --source http://127.0.0.1:8000/schema/openapi.json` reads a running gateway instead
console-api *args: sync console-install
    uv run --no-sync python scripts/console_api.py {{args}}
