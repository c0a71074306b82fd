"""The images build with `docker compose build` alone: every Dockerfile starts FROM the build argument
BASE_IMAGE (default debian:bookworm) or from one of its own stages, so no intermediate image made outside
compose is needed, and a build under another image prefix makes every image the stack runs, each one
the base image's layers plus its own. Runs on the host (Docker CLI); the build reuses the layer cache of
the stack's own images, so it takes about a minute, and its images are removed afterwards.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.topology  # the images, the same in both modes: run once

ROOT = Path(__file__).resolve().parent.parent
BASE_IMAGE = os.environ.get("BASE_IMAGE", "scaling-django/base:bookworm")  # what `make` builds FROM
PREFIX = "buildcheck"
BUILD_TIMEOUT = 900  # seconds; about 60 with a warm layer cache, a few minutes from the base alone
DOCKERFILES = sorted(ROOT.glob("deploy/**/Dockerfile"))


def docker(*args: str, timeout: int = 60, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["docker", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


def stack_images(env: dict) -> set[str]:
    """Every image a service of the stack runs (the `test` profile included), as compose resolves them."""
    result = docker("compose", "--profile", "test", "config", "--format", "json", env=env)
    assert result.returncode == 0, result.stderr
    return {service["image"] for service in json.loads(result.stdout)["services"].values()}


def layers(image: str) -> list[str]:
    result = docker("image", "inspect", "--format", "{{json .RootFS.Layers}}", image)
    assert result.returncode == 0, f"{image}: {result.stderr}"
    return json.loads(result.stdout)


def remove_images(images: set[str]) -> None:
    present = [image for image in images if docker("image", "inspect", image).returncode == 0]
    if present:
        docker("image", "rm", *present)


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_dockerfile_starts_from_the_base_image_or_its_own_stage(dockerfile: Path):
    stages: list[str] = []
    base_default = None
    for line in dockerfile.read_text().splitlines():
        if match := re.match(r"ARG\s+BASE_IMAGE=(\S+)", line):
            base_default = match.group(1)
        if match := re.match(r"FROM\s+(\S+)(?:\s+AS\s+(\S+))?\s*$", line, re.IGNORECASE):
            image, stage = match.groups()
            assert image == "${BASE_IMAGE}" or image in stages, f"{dockerfile}: FROM {image}"
            stages.append(stage or "")
    assert stages, f"{dockerfile}: no FROM"
    assert base_default == "debian:bookworm", f"{dockerfile}: ARG BASE_IMAGE default {base_default}"


def test_compose_build_alone_makes_every_image_from_the_base_image():
    if shutil.which("docker") is None or docker("info").returncode != 0:
        pytest.skip("no Docker engine")
    if docker("image", "inspect", BASE_IMAGE).returncode != 0:
        pytest.skip(f"no base image {BASE_IMAGE} (`make bootstrap` makes it)")
    env = {**os.environ, "IMAGE_PREFIX": PREFIX, "BASE_IMAGE": BASE_IMAGE}
    images = stack_images(env)
    assert images and all(image.startswith(f"{PREFIX}/") for image in images), images
    remove_images(images)
    try:
        result = docker("compose", "build", "--quiet", timeout=BUILD_TIMEOUT, env=env)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        base = layers(BASE_IMAGE)
        for image in sorted(images):
            assert layers(image)[: len(base)] == base, f"{image} is not built FROM {BASE_IMAGE}"
    finally:
        remove_images(images)
