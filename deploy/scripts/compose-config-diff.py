#!/usr/bin/env python3
"""Compares the resolved compose model (`docker compose config --format json`) of a git revision with
the working tree's, with and without the `test` profile: a refactor of the compose files should show no
difference. Top-level `x-` extension fields are left out; mapping keys are compared regardless of
order, and lists that differ only in order are reported as such. The revision's tree is exported to a
temporary directory (with this tree's .env), and its paths are mapped back to this tree's.

    python3 deploy/scripts/compose-config-diff.py [REV] [--ignore 'services.*.build.target' ...]

Exits 0 when the models are equal apart from the ignored paths (fnmatch patterns of dotted paths).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def config(directory: Path, profiles: list[str]) -> dict:
    args = ["docker", "compose", "--project-directory", str(directory)]
    for profile in profiles:
        args += ["--profile", profile]
    out = subprocess.run([*args, "config", "--format", "json"], cwd=directory, check=True, capture_output=True)
    model = json.loads(out.stdout.decode().replace(str(directory), str(ROOT)))
    return {key: value for key, value in model.items() if not key.startswith("x-")}  # YAML anchors' homes


def differences(before, after, path: str = "") -> list[str]:
    if isinstance(before, dict) and isinstance(after, dict):
        found = []
        for key in sorted(set(before) | set(after)):
            where = f"{path}.{key}" if path else key
            if key not in after:
                found.append(f"{where}: removed (was {json.dumps(before[key])})")
            elif key not in before:
                found.append(f"{where}: added ({json.dumps(after[key])})")
            else:
                found += differences(before[key], after[key], where)
        return found
    if before == after:
        return []
    if isinstance(before, list) and isinstance(after, list):
        if sorted(map(json.dumps, before)) == sorted(map(json.dumps, after)):
            return [f"{path}: same items, other order"]
    return [f"{path}: {json.dumps(before)} -> {json.dumps(after)}"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rev", nargs="?", default="HEAD")
    parser.add_argument("--ignore", action="append", default=[], help="fnmatch pattern of a dotted path")
    options = parser.parse_args()
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp)
        archive = subprocess.run(["git", "archive", options.rev], cwd=ROOT, check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)
        if (ROOT / ".env").exists():
            shutil.copy(ROOT / ".env", old / ".env")
        for profiles in ([], ["test"]):
            label = "docker compose " + "".join(f"--profile {p} " for p in profiles) + "config"
            found = differences(config(old, profiles), config(ROOT, profiles))
            ignored = [d for d in found if any(fnmatch.fnmatch(d.split(":")[0], p) for p in options.ignore)]
            kept = [d for d in found if d not in ignored]
            print(f"{label}: {len(kept)} differences ({len(ignored)} ignored) between {options.rev} and the tree")
            for line in kept:
                print(f"  {line}")
            for line in ignored:
                print(f"  ignored: {line}")
            failed = failed or bool(kept)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
