#!/usr/bin/env bash
# `just check-new-service`: prove that `just new-service` makes a service that passes lint and its own tests,
# and that removing it leaves the tree exactly as it was. Runs in a temporary copy of the working tree
# (tracked and untracked, not ignored, files), so the real tree is never touched.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
NAME=${1:-demo}
# Under .local/ (ignored), not /tmp: the embedded PostgreSQL, run as its own user when we are root, must be
# able to reach its binaries in the copy's environment.
mkdir -p "$ROOT/.local"
TMP=$(mktemp -d "$ROOT/.local/check-new-service.XXXXXX")
chmod 755 "$TMP"
trap '[ -n "${KEEP:-}" ] || rm -rf "$TMP"' EXIT
export PATH="$ROOT/.tools/bin:$PATH"
export UV_PROJECT_ENVIRONMENT="$TMP/.venv"

git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$TMP"
# The manifest renderers deploy/k8s/tools.sh installed (ignored), so tests/deploy renders the new service too.
[ -d "$ROOT/deploy/k8s/tools/node_modules" ] && ln -s "$ROOT/deploy/k8s/tools/node_modules" "$TMP/deploy/k8s/tools/node_modules"
cd "$TMP"
git init -q && git add -A && git -c user.name=check -c user.email=check@localhost commit -qm before
start=$(date +%s)
mkdir -p .local  # pytest's basetemp: ignored, so the tree stays clean
uv sync --all-packages --locked --quiet
echo "copy and environment ready ($(( $(date +%s) - start )) s)"

uv run --no-sync python scripts/new_service.py "$NAME"
uv run --no-sync ruff check .
uv run --no-sync ruff format --check .
uv run --no-sync mypy
uv run --no-sync lint-imports
uv run --no-sync scripts/deptry_all.sh
uv run --no-sync python scripts/registry.py --check
uv run --no-sync python -m pytest "services/$NAME" tests/deploy devkit/tests -q -p no:cacheprovider --basetemp="$TMP/.local/pytest"

uv run --no-sync python scripts/new_service.py --remove "$NAME"
uv run --no-sync python scripts/registry.py --check
if [ -n "$(git status --porcelain)" ]; then
  echo "removing $NAME left changes behind:"; git status --porcelain; exit 1
fi
echo "new-service $NAME: lint and its tests pass, removal restores the tree ($(( $(date +%s) - start )) s)"
