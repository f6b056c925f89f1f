"""Open the DOCX and PDF files the bot sends, as a staff member's phone would: python-docx and
pypdf read them back, and what a reader sees must be the material, not Markdown."""

from __future__ import annotations

import io

import docx
import pypdf


def docx_paragraphs(content: bytes) -> list[tuple[str, str]]:
    """(style name, text) of every paragraph, tables' cells included."""
    document = docx.Document(io.BytesIO(content))
    found = [(p.style.name if p.style else "", p.text) for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            found += [("cell", cell.text) for cell in row.cells]
    return found


def docx_text(content: bytes) -> str:
    return "\n".join(text for _, text in docx_paragraphs(content))


def pdf_text(content: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


def assert_reads_well(text: str) -> None:
    """No raw Markdown left for a reader to puzzle over: no #, **, "- " bullets or | tables."""
    assert text.strip()
    for line in text.splitlines():
        start = line.lstrip()
        assert "**" not in line, line
        assert not start.startswith(("#", "- ", "* ", "|", "> ")), line
