"""Finding the CSV files of one import: a folder, a zip of one, or a datapackage.json.

Everything read stays inside what was given: a datapackage's resource paths and a folder's
files may not lead out of it (no `..`, no absolute paths, no symlinks out), and a zip is
unpacked member by member within the limits.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from knowledge.hsds.files import FILE_KINDS, FILE_KINDS_BY_NAME, HSDS1_ONLY_FILES, FileKind
from knowledge.hsds.limits import ImportLimitError, ImportLimits, megabytes
from knowledge.hsds.report import DirectoryFormatError

FALLBACK = "using the CSV files in the folder instead"


@dataclass
class Source:
    """The recognised CSV files of one import, keyed by the name the report uses."""

    files: dict[str, tuple[FileKind, Path]]
    not_imported: list[str]
    flavour: str


def locate(path: Path, unpack_to: Path, limits: ImportLimits, warnings: list[str]) -> Source:
    """The files to import from `path`; blocking, so callers run it in a thread."""
    if not path.exists():
        raise DirectoryFormatError(f"{path} does not exist.")
    if path.is_file() and zipfile.is_zipfile(path):
        folder = _unpacked_zip(path, unpack_to, limits)
        source = _folder_or_package(folder, "hsds3-zip", warnings)
    elif path.is_file() and path.suffix.lower() == ".json":
        source = _datapackage_source(path, warnings) or _folder_source(
            path.parent, "hsds3", warnings
        )
    elif path.is_dir():
        source = _folder_or_package(path, "hsds3", warnings)
    else:
        raise DirectoryFormatError(
            f"{path} is neither a folder, a .zip of one, nor a datapackage.json."
        )
    _check_size(source, limits)
    return source


def inside(folder: Path, candidate: Path) -> bool:
    """True when `candidate`, symlinks followed, is `folder` or lies within it."""
    try:
        candidate.resolve().relative_to(folder.resolve())
    except (ValueError, OSError):
        return False
    return True


def _check_size(source: Source, limits: ImportLimits) -> None:
    total = sum(path.stat().st_size for _, path in source.files.values())
    if total > limits.max_csv_bytes:
        raise ImportLimitError(
            f"The CSV files come to {megabytes(total)}, over the {megabytes(limits.max_csv_bytes)} "
            "one import may read; nothing was imported. Split the directory into smaller imports."
        )


def _folder_source(folder: Path, flavour: str, warnings: list[str]) -> Source:
    files: dict[str, tuple[FileKind, Path]] = {}
    others: list[str] = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() != ".csv" or not path.is_file():
            continue
        kind = FILE_KINDS_BY_NAME.get(path.name.lower())
        if kind is None:
            others.append(path.name)
        elif not inside(folder, path):
            warnings.append(f"{path.name}: a link to a file outside the folder; not read")
        else:
            files[path.name] = (kind, path)
    return Source(_in_import_order(files), others, _flavour_of(files, flavour))


def _in_import_order(files: dict[str, tuple[FileKind, Path]]) -> dict[str, tuple[FileKind, Path]]:
    order = {kind.name: position for position, kind in enumerate(FILE_KINDS)}
    return dict(sorted(files.items(), key=lambda item: order[item[1][0].name]))


def _flavour_of(files: Mapping[str, tuple[FileKind, Path]], default: str) -> str:
    names = {kind.name for kind, _ in files.values()}
    return "hsds1" if names & HSDS1_ONLY_FILES else default


def _folder_or_package(folder: Path, flavour: str, warnings: list[str]) -> Source:
    package = folder / "datapackage.json"
    if package.is_file():
        source = _datapackage_source(package, warnings)
        if source is not None:
            if flavour == "hsds3-zip" and source.flavour != "hsds1":
                source.flavour = flavour
            return source
    return _folder_source(folder, flavour, warnings)


def _datapackage_source(package: Path, warnings: list[str]) -> Source | None:
    """The CSVs a datapackage.json lists, or None (after one warning) when it is unusable."""
    resources = _datapackage_resources(package, warnings)
    if resources is None:
        return None
    root = package.parent
    files: dict[str, tuple[FileKind, Path]] = {}
    others: list[str] = []
    for name, relative in resources:
        kind = FILE_KINDS_BY_NAME.get(PurePosixPath(relative).name.lower()) or (
            FILE_KINDS_BY_NAME.get(f"{name.lower()}.csv")
        )
        path = root / relative
        if not _plain_relative(relative) or not inside(root, path):
            warnings.append(
                f"{package.name}: resource {name!r} path {relative!r} leads outside the "
                "package; not read"
            )
        elif kind is None:
            others.append(relative)
        elif not path.is_file():
            warnings.append(f"{package.name}: resource {name!r} points at missing file {relative}")
        else:
            files[relative] = (kind, path)
    if not files:
        warnings.append(f"{package.name}: lists no HSDS table this importer reads; {FALLBACK}")
        return None
    return Source(_in_import_order(files), others, _flavour_of(files, "hsds3-datapackage"))


def _plain_relative(relative: str) -> bool:
    """A path inside the package as written: not absolute (either style), no `..`."""
    posix, windows = PurePosixPath(relative), PureWindowsPath(relative)
    if posix.is_absolute() or windows.is_absolute() or windows.drive or windows.root:
        return False
    return ".." not in posix.parts and ".." not in windows.parts


def _datapackage_resources(package: Path, warnings: list[str]) -> list[tuple[str, str]] | None:
    try:
        document = json.loads(package.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        warnings.append(f"{package.name}: not valid JSON ({error}); {FALLBACK}")
        return None
    resources = document.get("resources") if isinstance(document, dict) else None
    if not isinstance(resources, list) or not resources:
        warnings.append(f"{package.name}: has no resources; {FALLBACK}")
        return None
    found: list[tuple[str, str]] = []
    for resource in resources:
        if not isinstance(resource, dict):
            continue
        relative = resource.get("path")
        if isinstance(relative, str) and not relative.startswith(("http://", "https://")):
            found.append((str(resource.get("name") or PurePosixPath(relative).stem), relative))
        else:
            warnings.append(f"{package.name}: resource {resource.get('name')!r} has no local path")
    return found


# --- Zips ------------------------------------------------------------------------------------


def _wanted(member: zipfile.ZipInfo) -> bool:
    """Only what the importer reads is unpacked: CSV files and a datapackage.json."""
    name = PurePosixPath(member.filename).name.lower()
    return not member.is_dir() and (name.endswith(".csv") or name == "datapackage.json")


def _unpacked_zip(archive: Path, target: Path, limits: ImportLimits) -> Path:
    """Unpack and return the folder holding the files: the zip's root or its one sub-folder."""
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = bundle.infolist()
            if len(members) > limits.max_zip_members:
                raise ImportLimitError(
                    f"{archive.name} holds {len(members):,} files, over the "
                    f"{limits.max_zip_members:,} an import may unpack; nothing was imported."
                )
            wanted = [member for member in members if _wanted(member)]
            declared = sum(member.file_size for member in wanted)
            if declared > limits.max_unpacked_bytes:
                raise ImportLimitError(_too_big(archive, declared, limits))
            written = 0
            for member in wanted:
                # Counted as written: the sizes a zip declares need not be true.
                written += _extract(bundle, member, target, limits.max_unpacked_bytes - written)
                if written > limits.max_unpacked_bytes:
                    raise ImportLimitError(_too_big(archive, written, limits))
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise DirectoryFormatError(f"{archive} is not a readable zip file ({error}).") from error
    if _holds_hsds_files(target):
        return target
    folders = [
        path
        for path in target.iterdir()
        if path.is_dir() and not path.name.startswith((".", "__MACOSX"))
    ]
    if len(folders) == 1 and _holds_hsds_files(folders[0]):
        return folders[0]
    raise DirectoryFormatError(
        f"{archive} holds no HSDS CSV files at its root or in a single sub-folder."
    )


def _too_big(archive: Path, size: int, limits: ImportLimits) -> str:
    return (
        f"{archive.name} unpacks to more than {megabytes(limits.max_unpacked_bytes)} "
        f"(at least {megabytes(size)}), over the limit for one import; nothing was imported."
    )


def _member_path(target: Path, member: zipfile.ZipInfo) -> Path | None:
    """Where a member goes: its name without drive, root, "." or ".." parts (as extract() does)."""
    parts = [
        part
        for part in member.filename.replace("\\", "/").split("/")
        if part not in ("", ".", "..") and ":" not in part
    ]
    return target.joinpath(*parts) if parts else None


def _extract(bundle: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path, budget: int) -> int:
    """Unpack one member, stopping a byte past `budget`; returns the bytes written."""
    destination = _member_path(target, member)
    if destination is None or not inside(target, destination):
        return 0
    destination.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with bundle.open(member) as source, destination.open("wb") as sink:
        while chunk := source.read(1 << 20):
            written += len(chunk)
            if written > budget:
                break
            sink.write(chunk)
    return written


def _holds_hsds_files(folder: Path) -> bool:
    return (folder / "datapackage.json").is_file() or any(
        path.suffix.lower() == ".csv" for path in folder.iterdir() if path.is_file()
    )
