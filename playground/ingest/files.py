"""Files, folders and zips: which files to read, their categories, size limits, and zip members read safely."""

from __future__ import annotations

import io
import os
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from playground.core.documents import FileError
from playground.core.errors import InputError
from playground.ingest.formats import SUPPORTED_SUFFIXES

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
ZIP_SUFFIX = ".zip"

Member = tuple[str, str, bytes]  # (name, category, bytes) of one file to parse


def suffix(name: str) -> str:
    return PurePosixPath(name).suffix.lower()


def category_of(rel: str) -> str:
    """The first folder of a relative path ("" at the top level)."""
    parts = PurePosixPath(rel).parts
    return parts[0] if len(parts) > 1 else ""


def _is_hidden(part: str) -> bool:
    return part.startswith(".") or part == "__MACOSX"


def check_size(name: str, size: int, max_bytes: int) -> None:
    """Refuse a file over the limit, saying what to do."""
    if size > max_bytes:
        raise InputError(
            f"{name} is {_human_size(size)}, over the {_human_size(max_bytes)} limit; "
            "split it into smaller files or raise the limit."
        )


def _human_size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / (1024 * 1024):.1f} MiB"


def unsupported_message(name: str) -> str:
    """What to do with a file whose format is not read."""
    found = suffix(name) or "(no suffix)"
    return (
        f"{name}: {found} files are not supported; convert it to one of "
        f"{', '.join(SUPPORTED_SUFFIXES)} (or upload a {ZIP_SUFFIX} of such files)."
    )


def visible_files(root: Path) -> Iterator[Path]:
    """Regular files under root in sorted order, without descending into hidden folders or following links."""
    found: list[Path] = []
    for folder, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not _is_hidden(d)]
        for filename in filenames:
            file = Path(folder, filename)
            if not _is_hidden(filename) and file.is_file() and not file.is_symlink():
                found.append(file)
    yield from sorted(found, key=lambda f: f.relative_to(root).as_posix())


def zip_members(zip_name: str, data: bytes, max_bytes: int) -> tuple[list[Member], list[FileError]]:
    """The (name, category, bytes) of each usable member, plus an error for each member that was skipped."""
    try:
        check_size(zip_name, len(data), max_bytes)
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = [info for info in archive.infolist() if not info.is_dir()]
    except InputError as exc:
        return [], [FileError(zip_name, str(exc))]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        return [], [
            FileError(zip_name, f"{zip_name} is not a readable zip file ({exc}); zip the folder again.")
        ]
    errors = [
        FileError(f"{zip_name}:{_member(i)}", "unsafe path inside zip, skipped")
        for i in infos
        if _is_unsafe(i)
    ]
    usable = [
        i for i in infos if not _is_unsafe(i) and not any(map(_is_hidden, PurePosixPath(_member(i)).parts))
    ]
    wrapper = _wrapper_folder([_member(info) for info in usable])
    members: list[Member] = []
    for info in sorted(usable, key=_member):
        rel = _member(info).removeprefix(wrapper)
        try:
            members.append((rel, category_of(rel), _read_member(archive, info, rel, max_bytes)))
        except InputError as exc:
            errors.append(FileError(rel, str(exc)))
    return members, errors


def _member(info: zipfile.ZipInfo) -> str:
    # zips made on Windows sometimes use backslashes; "a//b" and "./a" are normalised away
    return PurePosixPath(info.filename.replace("\\", "/")).as_posix()


def _is_unsafe(info: zipfile.ZipInfo) -> bool:
    member = _member(info)
    path = PurePosixPath(member)
    return path.is_absolute() or ".." in path.parts or re.match(r"^[A-Za-z]:", member) is not None


def _wrapper_folder(members: list[str]) -> str:
    """The single top-level folder that wraps every member ("corpus/"), or "" when there is none."""
    parts = [PurePosixPath(m).parts for m in members]
    tops = {p[0] for p in parts}
    return f"{tops.pop()}/" if len(tops) == 1 and all(len(p) > 1 for p in parts) else ""


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, rel: str, max_bytes: int) -> bytes:
    if suffix(rel) not in SUPPORTED_SUFFIXES:
        raise InputError(unsupported_message(rel))
    check_size(rel, info.file_size, max_bytes)
    try:
        # The header's size can lie (zip bombs), so never read past the limit.
        with archive.open(info) as handle:
            data = handle.read(max_bytes + 1)
    except RuntimeError as exc:  # zipfile raises RuntimeError for encrypted members
        raise InputError(f"{rel} is encrypted inside the zip ({exc}); zip it without a password.") from exc
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, ValueError) as exc:
        raise InputError(f"{rel} could not be extracted from the zip ({exc}); zip the folder again.") from exc
    check_size(rel, len(data), max_bytes)
    return data
