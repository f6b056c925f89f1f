"""The partnership toolkit and the sample materials staff can ask for."""

from __future__ import annotations

from sqlalchemy import Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from knowledge.models.base import Base


class ToolkitResource(Base):
    """One entry of the partnership toolkit (overview, best practice, report...)."""

    __tablename__ = "toolkit_resource"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    section: Mapped[str] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(Integer, default=0)
    title_en: Mapped[str] = mapped_column(Text)
    title_es: Mapped[str] = mapped_column(Text)
    summary_en: Mapped[str] = mapped_column(Text)
    summary_es: Mapped[str] = mapped_column(Text)
    body_en: Mapped[str] = mapped_column(Text)
    body_es: Mapped[str] = mapped_column(Text)
    keywords_en: Mapped[str] = mapped_column(Text, default="")
    keywords_es: Mapped[str] = mapped_column(Text, default="")
    # Where to read the whole thing (a report's public page); None for the toolkit's own texts.
    url: Mapped[str | None] = mapped_column(Text)


class SampleMaterial(Base):
    """A document staff can ask for (MOU template, needs assessment...), stored with its bytes."""

    __tablename__ = "sample_material"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    title_en: Mapped[str] = mapped_column(Text)
    title_es: Mapped[str] = mapped_column(Text)
    description_en: Mapped[str] = mapped_column(Text)
    description_es: Mapped[str] = mapped_column(Text)
    keywords_en: Mapped[str] = mapped_column(Text, default="")
    keywords_es: Mapped[str] = mapped_column(Text, default="")
    filename_en: Mapped[str] = mapped_column(Text)
    filename_es: Mapped[str | None] = mapped_column(Text)
    content_en: Mapped[bytes] = mapped_column(LargeBinary)
    content_es: Mapped[bytes | None] = mapped_column(LargeBinary)
