"""Build images of the reference service without any registry (``docker import``).

An image here is only an empty root file system plus metadata; the host's Python, the
system libraries and this repository are bind-mounted read-only when the container runs
(see ``vigil.docker.yaml`` beside this file). Each tag is one deployable version: it
carries ``REFERENCE_IMAGE_VERSION`` in its environment and a ``dev.vigil.version``
label, so the readiness suite can deploy ``vigil-reference:<tag>`` and roll back.

    python deployments/docker/build_reference_image.py v1 v2

Nothing is pulled or pushed; the Docker engine must run locally.
"""

from __future__ import annotations

import argparse
import io
import sys
import tarfile
from typing import Any

REPOSITORY = "vigil-reference"
ROOT_FOLDERS = ("tmp", "proc", "sys", "dev", "etc", "usr", "lib", "lib64", "bin", "root", "work")


def empty_rootfs() -> bytes:
    """A tar of the folders the bind mounts land on, and nothing else."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for folder in ROOT_FOLDERS:
            info = tarfile.TarInfo(folder)
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777 if folder == "tmp" else 0o755
            archive.addfile(info)
    return buffer.getvalue()


def build_image(client: Any, tag: str) -> str:
    """Import `vigil-reference:<tag>` into the local engine; returns the image reference.

    Args:
        client: A ``docker.DockerClient``.
        tag: The version's tag.
    """
    client.api.import_image_from_data(
        empty_rootfs(),
        repository=REPOSITORY,
        tag=tag,
        changes=[f"ENV REFERENCE_IMAGE_VERSION={tag}", f"LABEL dev.vigil.version={tag}"],
    )
    return f"{REPOSITORY}:{tag}"


def main(argv: list[str] | None = None) -> int:
    """Build one image per tag given on the command line."""
    import docker

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tags", nargs="+", help="version tags, e.g. v1 v2")
    args = parser.parse_args(argv)
    client = docker.from_env(timeout=30)
    for tag in args.tags:
        print(build_image(client, tag))
    return 0


if __name__ == "__main__":
    sys.exit(main())
