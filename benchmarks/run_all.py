"""Run every benchmark script in this folder, one process each, and stop on the first failure."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

here = Path(__file__).parent
scripts = sorted(p for p in here.glob("*.py") if p.name not in {"run_all.py"} and not p.name.startswith("_"))
for script in scripts:
    print(f"\n=== {script.name} ===", flush=True)
    result = subprocess.run([sys.executable, str(script)], check=False)
    if result.returncode != 0:
        sys.exit(result.returncode)
