"""The partnership toolkit and the sample materials, read in one language (no Telegram here)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.models import SampleMaterial, ToolkitResource

# The toolkit's sections, in the order they are shown.
SECTIONS = ("overview", "best-practice", "report", "materials")


@dataclass(frozen=True, slots=True)
class ToolkitEntry:
    """One toolkit resource in the reader's language."""

    id: str
    section: str
    title: str
    summary: str
    body: str
    url: str | None = None  # where to read the whole thing (a report's public page)


@dataclass(frozen=True, slots=True)
class MaterialListing:
    """A sample material as a list shows it (no document bytes)."""

    id: str
    title: str
    description: str


@dataclass(frozen=True, slots=True)
class MaterialDocument:
    """A sample material's document in the reader's language (English if not translated)."""

    id: str
    title: str
    description: str
    filename: str
    content: bytes
    language: str


def _spanish(language: str | None) -> bool:
    return (language or "").split("-")[0].lower() == "es"


def _entry(resource: ToolkitResource, language: str | None) -> ToolkitEntry:
    es = _spanish(language)
    return ToolkitEntry(
        id=resource.id,
        section=resource.section,
        title=resource.title_es if es else resource.title_en,
        summary=resource.summary_es if es else resource.summary_en,
        body=resource.body_es if es else resource.body_en,
        url=resource.url,
    )


def _section_rank(section: str) -> int:
    return SECTIONS.index(section) if section in SECTIONS else len(SECTIONS)


async def list_toolkit(session: AsyncSession, language: str | None) -> list[ToolkitEntry]:
    """Every toolkit entry, grouped by section (overview first), in the file's order within one."""
    resources = (
        await session.scalars(select(ToolkitResource).order_by(ToolkitResource.position))
    ).all()
    entries = [_entry(resource, language) for resource in resources]
    return sorted(entries, key=lambda entry: _section_rank(entry.section))


async def toolkit_section(
    session: AsyncSession, section: str, language: str | None
) -> list[ToolkitEntry]:
    """The entries of one section (the best practices, say), in the file's order."""
    resources = await session.scalars(
        select(ToolkitResource)
        .where(ToolkitResource.section == section)
        .order_by(ToolkitResource.position)
    )
    return [_entry(resource, language) for resource in resources]


async def toolkit_entry(
    session: AsyncSession, resource_id: str, language: str | None
) -> ToolkitEntry | None:
    resource = await session.get(ToolkitResource, resource_id)
    return _entry(resource, language) if resource is not None else None


async def list_materials(
    session: AsyncSession, language: str | None, ids: Sequence[str] | None = None
) -> list[MaterialListing]:
    """All sample materials in their order, or just `ids` in the order given."""
    es = _spanish(language)
    query = select(
        SampleMaterial.id,
        SampleMaterial.title_es if es else SampleMaterial.title_en,
        SampleMaterial.description_es if es else SampleMaterial.description_en,
    ).order_by(SampleMaterial.position)
    if ids is not None:
        query = query.where(SampleMaterial.id.in_(list(ids)))
    listings = [MaterialListing(*row) for row in (await session.execute(query)).all()]
    if ids is not None:
        rank = {material_id: number for number, material_id in enumerate(ids)}
        listings.sort(key=lambda listing: rank[listing.id])
    return listings


async def material_document(
    session: AsyncSession, material_id: str, language: str | None
) -> MaterialDocument | None:
    """The document to send: the Spanish file for Spanish readers when there is one."""
    material = await session.get(SampleMaterial, material_id)
    if material is None:
        return None
    es = _spanish(language)
    if es and material.content_es is not None and material.filename_es:
        filename, content, document_language = material.filename_es, material.content_es, "es"
    else:
        filename, content, document_language = material.filename_en, material.content_en, "en"
    return MaterialDocument(
        id=material.id,
        title=material.title_es if es else material.title_en,
        description=material.description_es if es else material.description_en,
        filename=filename,
        content=content,
        language=document_language,
    )
