"""llama.cpp's `convert_lora_to_gguf.py`, taken from the llama-cpp-python source distribution.

The script (with its `conversion/` and `gguf-py/` folders, 2 MB) is extracted once into the project's cache
from the sdist: one already in `.cache/`, or downloaded from PyPI with pip the first time (76 MB, ~1.5 min).
It runs as a subprocess with `PYTHONPATH=gguf-py:.`, the way llama.cpp documents it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

from playground.core.errors import ModelError
from playground.core.paths import PROJECT_ROOT

LLAMA_CPP_PYTHON = "0.3.36"
SDIST = f"llama_cpp_python-{LLAMA_CPP_PYTHON}.tar.gz"
_PREFIX = f"llama_cpp_python-{LLAMA_CPP_PYTHON}/vendor/llama.cpp/"
_WANTED = ("convert_lora_to_gguf.py", "convert_hf_to_gguf.py", "conversion/", "gguf-py/")


def cache_root() -> Path:
    return Path(os.environ.get("PLAYGROUND_CACHE_DIR", PROJECT_ROOT / ".cache"))


def converter_dir() -> Path:
    return cache_root() / f"llama-cpp-convert-{LLAMA_CPP_PYTHON}"


def _find_sdist() -> Path | None:
    for folder in (cache_root() / "sdist", cache_root() / "pip"):
        found = sorted(folder.rglob(SDIST)) if folder.is_dir() else []
        if found:
            return found[0]
    return None


def _download_sdist() -> Path:
    target = cache_root() / "sdist"
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--no-deps",
        "--no-binary",
        ":all:",
        f"llama-cpp-python=={LLAMA_CPP_PYTHON}",
        "-d",
        str(target),
    ]
    env = {**os.environ, "PIP_CACHE_DIR": str(cache_root() / "pip")}
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    if result.returncode != 0 or not (target / SDIST).exists():
        raise ModelError(
            "Could not fetch llama.cpp's LoRA converter (the llama-cpp-python source from PyPI): "
            f"{result.stderr.strip()[-300:]}. Connect to PyPI once, or put {SDIST} in {target}."
        )
    return target / SDIST


def _extract(sdist: Path, into: Path) -> None:
    staging = into.with_name(into.name + f".partial-{os.getpid()}")
    with tarfile.open(sdist) as archive:
        members = [
            m
            for m in archive.getmembers()
            if m.name.startswith(_PREFIX)
            and m.name[len(_PREFIX) :].startswith(_WANTED)
            and (m.isfile() or m.isdir())
        ]
        for member in members:
            member.name = member.name[len(_PREFIX) :]
        archive.extractall(staging, members=members, filter="data")
    staging.replace(into)


def ensure_converter() -> Path:
    """The folder holding convert_lora_to_gguf.py, extracted (and if needed downloaded) the first time."""
    folder = converter_dir()
    if (folder / "convert_lora_to_gguf.py").exists():
        return folder
    _extract(_find_sdist() or _download_sdist(), folder)
    return folder


def convert_adapter(adapter_dir: Path, base_dir: Path, outfile: Path, timeout_s: int = 600) -> Path:
    """PEFT adapter folder -> one GGUF file llama.cpp loads with `lora_path` (f16, a few MB)."""
    folder = ensure_converter()
    cmd = [
        sys.executable,
        "convert_lora_to_gguf.py",
        "--base",
        str(base_dir),
        "--outfile",
        str(outfile),
        "--outtype",
        "f16",
        str(adapter_dir),
    ]
    env = {**os.environ, "PYTHONPATH": "gguf-py:.", "HF_HUB_OFFLINE": "1"}
    try:
        result = subprocess.run(cmd, cwd=folder, env=env, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise ModelError(
            f"Converting the adapter to GGUF took more than {timeout_s} s and was stopped."
        ) from None
    if result.returncode != 0 or not outfile.exists():
        raise ModelError(f"Converting the adapter to GGUF failed: {result.stderr.strip()[-400:]}")
    return outfile
