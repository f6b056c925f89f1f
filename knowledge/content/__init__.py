"""Built-in content: the partnership toolkit, sample materials and the demo directory.

The toolkit and materials are YAML plus documents beside this file; the demo directory is an
HSDS 3.0 CSV folder, imported through the same importer coordinators use for their own data.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.models import (
    Address,
    Attribute,
    ContentVersion,
    Language,
    Location,
    Organization,
    Phone,
    SampleMaterial,
    Schedule,
    Service,
    ServiceAtLocation,
    ToolkitResource,
    utcnow,
)

CONTENT_DIR = Path(__file__).parent
TOOLKIT_FILE = CONTENT_DIR / "toolkit.yaml"
MATERIALS_FILE = CONTENT_DIR / "materials" / "materials.yaml"
DEMO_DIRECTORY = CONTENT_DIR / "demo_directory"


class ContentFormatError(ValueError):
    """A toolkit or materials file that does not follow the schema; the message says where."""


@dataclass(frozen=True, slots=True)
class ContentCounts:
    toolkit: int = 0
    materials: int = 0


def _read_yaml_list(path: Path) -> list[dict[str, Any]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ContentFormatError(f"{path.name}: not valid YAML ({error})") from None
    if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
        raise ContentFormatError(f"{path.name}: expected a list of entries")
    return data


def _both(row: dict[str, Any], key: str, path: Path, number: int) -> tuple[str, str]:
    value = row.get(key)
    if not isinstance(value, dict) or not value.get("en"):
        raise ContentFormatError(f"{path.name}: entry {number}: '{key}' needs an 'en' text")
    return str(value["en"]).strip(), str(value.get("es") or value["en"]).strip()


def _keywords(row: dict[str, Any], language: str) -> str:
    return " ".join(str(k) for k in (row.get("keywords") or {}).get(language) or [])


async def _upsert(session: AsyncSession, model: type[Any], values: dict[str, Any]) -> None:
    existing = await session.get(model, values["id"])
    if existing is None:
        session.add(model(**values))
    else:
        for key, value in values.items():
            setattr(existing, key, value)


def is_toolkit_file(path: Path) -> bool:
    rows = _read_yaml_list(path)
    return bool(rows) and "section" in rows[0]


def is_materials_file(path: Path) -> bool:
    rows = _read_yaml_list(path)
    return bool(rows) and "file" in rows[0]


async def load_toolkit(session: AsyncSession, path: Path = TOOLKIT_FILE) -> int:
    """Insert or update toolkit entries from a YAML file; returns how many."""
    rows = _read_yaml_list(path)
    for position, row in enumerate(rows, start=1):
        if not row.get("id") or not row.get("section"):
            raise ContentFormatError(f"{path.name}: entry {position}: needs 'id' and 'section'")
        title_en, title_es = _both(row, "title", path, position)
        summary_en, summary_es = _both(row, "summary", path, position)
        body_en, body_es = _both(row, "body", path, position)
        await _upsert(
            session,
            ToolkitResource,
            {
                "id": str(row["id"]),
                "section": str(row["section"]),
                "position": position,
                "title_en": title_en,
                "title_es": title_es,
                "summary_en": summary_en,
                "summary_es": summary_es,
                "body_en": body_en,
                "body_es": body_es,
                "keywords_en": _keywords(row, "en"),
                "keywords_es": _keywords(row, "es"),
                "url": str(row["url"]).strip() if row.get("url") else None,
            },
        )
    await session.flush()
    return len(rows)


def _document(folder: Path, base: str, language: str) -> Path | None:
    for suffix in (".md", ".txt", ".pdf", ".docx", ".odt"):
        candidate = folder / f"{base}.{language}{suffix}"
        if candidate.exists():
            if not candidate.resolve().is_relative_to(folder.resolve()):
                return None  # a symlink out of the folder: as if the document were not there
            return candidate
    return None


def _confined_file(row: dict[str, Any], path: Path, number: int) -> str:
    """The entry's `file:` as a name inside the materials folder: anything that could lead out
    of it (an absolute path, `..`) would let a YAML file serve any file on the host."""
    base = str(row["file"]).strip()
    parts = base.replace("\\", "/").split("/")
    if base.startswith(("/", "\\")) or ":" in base or any(p in ("", ".", "..") for p in parts):
        raise ContentFormatError(
            f"{path.name}: entry {number}: file {base!r} must name a document in the "
            f"folder of {path.name} (no absolute paths, no '..')"
        )
    return base


async def load_materials(session: AsyncSession, path: Path = MATERIALS_FILE) -> int:
    """Insert or update sample materials (with their documents' bytes) from a YAML file."""
    rows = _read_yaml_list(path)
    for position, row in enumerate(rows, start=1):
        if not row.get("id") or not row.get("file"):
            raise ContentFormatError(f"{path.name}: entry {position}: needs 'id' and 'file'")
        base = _confined_file(row, path, position)
        english = _document(path.parent, base, "en")
        if english is None:
            raise ContentFormatError(
                f"{path.name}: entry {position}: no document {base}.en.md in its folder"
            )
        spanish = _document(path.parent, base, "es")
        title_en, title_es = _both(row, "title", path, position)
        description_en, description_es = _both(row, "description", path, position)
        await _upsert(
            session,
            SampleMaterial,
            {
                "id": str(row["id"]),
                "position": position,
                "title_en": title_en,
                "title_es": title_es,
                "description_en": description_en,
                "description_es": description_es,
                "keywords_en": _keywords(row, "en"),
                "keywords_es": _keywords(row, "es"),
                "filename_en": english.name,
                "filename_es": spanish.name if spanish else None,
                "content_en": english.read_bytes(),
                "content_es": spanish.read_bytes() if spanish else None,
            },
        )
    await session.flush()
    return len(rows)


async def load_toolkit_and_materials(session: AsyncSession) -> ContentCounts:
    return ContentCounts(
        toolkit=await load_toolkit(session), materials=await load_materials(session)
    )


async def directory_is_empty(session: AsyncSession) -> bool:
    return not await session.scalar(select(func.count()).select_from(Service))


def _demo_ids(file_name: str) -> list[str]:
    with (DEMO_DIRECTORY / file_name).open(encoding="utf-8", newline="") as handle:
        return [row["id"] for row in csv.DictReader(handle)]


async def holds_demo_directory(session: AsyncSession) -> bool:
    ids = _demo_ids("organizations.csv")
    return bool(await session.scalar(select(func.count()).where(Organization.id.in_(ids))))


async def remove_demo_directory(session: AsyncSession) -> None:
    """Delete the demo town's rows (by their ids), leaving anything imported alongside."""
    for model, file_name in (
        (Attribute, "attributes.csv"),
        (Language, "languages.csv"),
        (Schedule, "schedules.csv"),
        (Phone, "phones.csv"),
        (ServiceAtLocation, "service_at_location.csv"),
        (Address, "addresses.csv"),
        (Service, "services.csv"),
        (Location, "locations.csv"),
        (Organization, "organizations.csv"),
    ):
        await session.execute(delete(model).where(model.id.in_(_demo_ids(file_name))))
    await session.flush()


async def bump_content_version(session: AsyncSession) -> int:
    """Tell every running process that searchable data changed."""
    row = await session.get(ContentVersion, 1)
    if row is None:
        row = ContentVersion(id=1, version=0)
        session.add(row)
    row.version += 1
    row.changed_at = utcnow()
    await session.flush()
    return row.version


async def content_version(session: AsyncSession) -> int:
    return int(
        await session.scalar(select(ContentVersion.version).where(ContentVersion.id == 1)) or 0
    )
