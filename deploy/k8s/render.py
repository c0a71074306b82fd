#!/usr/bin/env python3
"""Renders the Kubernetes kustomizations offline, and validates them (`make k8s-validate`).

    python deploy/k8s/render.py dev                      # the rendered overlay on stdout
    python deploy/k8s/render.py --validate base dev production

Rendering is `kubectl kustomize` (kustomize built into kubectl) on a temporary copy of deploy/k8s whose
base/secrets/ holds placeholder files instead of the real ones (which are never needed, nor read, here).
Validation is `kubernetes-validate --strict` against the Kubernetes version of kubectl 1.32; kinds it has
no schema for (CRDs: the VerticalPodAutoscaler) are reported as warnings only.

kubectl: $KUBECTL, else /usr/bin/kubectl, else the first on PATH, else .venv/bin/kubectl (which
`make k8s-validate` installs from requirements/kubectl.lock when there is no other).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
KUBERNETES_VERSION = "1.32.0"
TARGETS = {"base": "base", "dev": "overlays/dev", "production": "overlays/production"}
# the files base/kustomization.yaml's secretGenerator reads (make-secrets.sh writes the real ones)
SECRET_FILES = (
    "django-secret-key",
    "admin-password",
    "db-app-password",
    "db-postgres-password",
    "db-replication-password",
    "pgbouncer-admin-password",
    "edge-purge-token",
    "redis-cache-password",
    "redis-broker-password",
    "jwt_private.pem",
    "jwt_public.pem",
)


def find_kubectl() -> str | None:
    candidates = [os.environ.get("KUBECTL"), "/usr/bin/kubectl", shutil.which("kubectl"), ROOT / ".venv/bin/kubectl"]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def render(target: str, kubectl: str | None = None) -> str:
    """The YAML stream of one kustomization (`base`, `dev`, `production` or a path under deploy/k8s)."""
    kubectl = kubectl or find_kubectl()
    if not kubectl:
        raise RuntimeError("no kubectl: run `make k8s-validate` (it installs one) or set KUBECTL")
    with tempfile.TemporaryDirectory(prefix="k8s-render-") as tmp:
        copy = Path(tmp) / "k8s"
        shutil.copytree(HERE, copy, ignore=shutil.ignore_patterns("__pycache__", "secrets"))
        secrets = copy / "base" / "secrets"
        secrets.mkdir()
        for name in SECRET_FILES:
            (secrets / name).write_text(f"placeholder-{name}-not-a-secret")
        result = subprocess.run(
            [kubectl, "kustomize", str(copy / TARGETS.get(target, target))], capture_output=True, text=True
        )
    if result.returncode != 0:
        raise RuntimeError(f"kubectl kustomize {target} failed:\n{result.stderr}")
    return result.stdout


def validate(rendered: str, name: str) -> tuple[int, str]:
    """kubernetes-validate --strict on one rendered stream: (exit status, its report)."""
    with tempfile.NamedTemporaryFile("w", prefix=f"{name}-", suffix=".yaml") as out:
        out.write(rendered)
        out.flush()
        result = subprocess.run(
            [sys.executable, "-m", "kubernetes_validate", "--strict", "--quiet", "-k", KUBERNETES_VERSION, out.name],
            capture_output=True,
            text=True,
        )
    report = (result.stdout + result.stderr).replace(out.name, name)
    return result.returncode, report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="*", default=list(TARGETS))
    parser.add_argument("--kubectl", default=None, help="the kubectl to use (default: see above)")
    parser.add_argument("--validate", action="store_true", help="validate instead of printing")
    options = parser.parse_args()
    kubectl = options.kubectl or find_kubectl()
    if not options.validate:
        for target in options.targets:
            sys.stdout.write(render(target, kubectl))
        return 0
    version = subprocess.run([kubectl, "version", "--client"], capture_output=True, text=True).stdout.split("\n")
    print(f"--> {kubectl}: {', '.join(line.strip() for line in version if line.strip())}")
    failed = 0
    for target in options.targets:
        rendered = render(target, kubectl)
        count = sum(1 for line in rendered.splitlines() if line.startswith("kind: "))
        status, report = validate(rendered, target)
        for line in report.splitlines():
            print(f"    {line}")
        verdict = "ok" if status == 0 else "FAILED"
        print(
            f"--> {target}: {count} objects rendered, kubernetes-validate --strict -k {KUBERNETES_VERSION}: {verdict}"
        )
        failed |= status != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
