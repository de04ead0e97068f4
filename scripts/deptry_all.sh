#!/usr/bin/env bash
# deptry per workspace member: each declares exactly what it imports (DESIGN §5).
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
for member in contracts kit devkit sandbox services/*/; do
  member=${member%/}
  (cd "$member" && deptry src --no-ansi) || { echo "deptry: $member"; status=1; }
done
exit $status
