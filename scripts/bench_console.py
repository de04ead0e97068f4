"""`just bench console`: every list screen of the staff console with 1,000 rows, in a real headless Chromium.

Builds the console (`npm run build` in web/, unless --no-build), then runs web/e2e/bench.ts with Node: it serves
web/dist itself, answers every API call through Playwright's routing with data of the gateway's OpenAPI shapes
(the list under test with --rows items), and measures, per screen, the time from the list's answer arriving
(its fetch resolving) to the frame that shows all the rows painted. The bare ceiling, in the same run and
browser: the same number of rows put into a plain table by hand-written DOM code. The target (issue 16):
every list screen under 300 ms after its data arrives, at 1,000 rows.

    just bench console                     # 1,000 rows, 5 runs per screen
    just bench console --rows 2000 --repeat 3 --no-build
    just bench console --only board,week   # the pipelines board and the agenda's week grid
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "web"
TARGET_MS = 300


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-build", action="store_true", help="measure the web/dist already built")
    parser.add_argument("--only", default="", help="screens whose name contains one of these (comma-separated)")
    args = parser.parse_args()
    node = shutil.which("node", path=f"{ROOT / '.tools' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    if node is None:
        print("node is missing: python3 dev.py sync", file=sys.stderr)
        return 2
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not Path(chromium).exists():
        print(f"{chromium} is missing: apt-get install chromium", file=sys.stderr)
        return 2
    env = {**os.environ, "CHROMIUM": chromium, "PATH": f"{Path(node).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    if not args.no_build:
        subprocess.run(["npm", "run", "--silent", "build"], cwd=WEB, env=env, check=True)
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    print(f"console list screens, {args.rows} rows, {args.repeat} runs each; load average {load}")
    result = subprocess.run(
        [node, "e2e/bench.ts", "--rows", str(args.rows), "--repeat", str(args.repeat)]
        + (["--only", args.only] if args.only else []),
        cwd=WEB,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        print(result.stdout, result.stderr, sep="\n", file=sys.stderr)
        return result.returncode
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    print(f"{'screen':34} {'rows':>5} {'median ms':>10}  runs (ms)")
    slow = []
    for r in rows:
        mark = "" if r["screen"].startswith("bare") or r["median_ms"] < TARGET_MS else f"  > {TARGET_MS} ms"
        if mark:
            slow.append(r["screen"])
        print(f"{r['screen']:34} {r['rows']:>5} {r['median_ms']:>10}  {r['runs_ms']}{mark}")
    with open("/proc/loadavg") as f:
        print(f"load average after: {' '.join(f.read().split()[:3])}")
    if slow:
        print(f"over {TARGET_MS} ms: {', '.join(slow)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
