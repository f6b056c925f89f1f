"""Sample materials as documents staff can edit (DOCX) and print (PDF), from their one Markdown
source. No Telegram here.

The Markdown is parsed by markdown-it-py (CommonMark plus tables) into a few plain blocks
(headings, paragraphs, list items, tables, quotes, rules) of styled runs; python-docx and fpdf2
each draw those blocks, so the two formats always say the same thing. The PDF embeds DejaVu Sans,
which matplotlib (already a dependency) ships: it has á é ñ ¿ ¡ and the ☐ of checkbox lists, and
nothing is fetched at run time.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import docx
import matplotlib
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.table import _Cell
from docx.text.paragraph import Paragraph
from fpdf import FPDF
from fpdf.fonts import FontFace
from markdown_it import MarkdownIt
from markdown_it.token import Token

DOCX = "docx"
PDF = "pdf"
FORMATS = (DOCX, PDF)
MEDIA_TYPES = {
    DOCX: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    PDF: "application/pdf",
}
# Documents written in these are converted; anything else (a PDF someone imported) is sent as is.
CONVERTIBLE = (".md", ".txt")
_FONTS = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
_PDF_FONT = "DejaVu"
_ACCENT = (31, 78, 121)  # the headings' dark blue, in both formats
_GREY = (110, 110, 110)
# "- [ ] Food" is a box to tick on paper.
_TASK = re.compile(r"^\[( |x|X)\]\s+")


@dataclass(frozen=True, slots=True)
class Run:
    """Text with one style."""

    text: str
    bold: bool = False
    italic: bool = False


@dataclass(slots=True)
class Block:
    """One thing on the page. `kind`: heading, paragraph, item, table, quote, rule."""

    kind: str
    runs: list[Run] = field(default_factory=list)
    level: int = 0  # heading level; list depth (0 = top) for items
    marker: str = ""  # "•" or "3." for list items
    rows: list[list[list[Run]]] = field(default_factory=list)  # table cells; row 0 is the header


# --- Markdown -> blocks --------------------------------------------------------------------------


def _runs(token: Token) -> list[Run]:
    """The styled runs of an inline token (links keep their text, then the address)."""
    runs: list[Run] = []
    bold = italic = False
    link: str | None = None
    for child in token.children or []:
        if child.type == "strong_open":
            bold = True
        elif child.type == "strong_close":
            bold = False
        elif child.type == "em_open":
            italic = True
        elif child.type == "em_close":
            italic = False
        elif child.type in ("text", "code_inline", "html_inline"):
            runs.append(Run(child.content, bold, italic))
        elif child.type == "softbreak":
            runs.append(Run(" ", bold, italic))
        elif child.type == "hardbreak":
            runs.append(Run("\n", bold, italic))
        elif child.type == "link_open":
            link = str(child.attrs.get("href") or "")
        elif child.type == "link_close" and link:
            shown = "".join(r.text for r in runs)
            if not shown.endswith(link):
                runs.append(Run(f" ({link})", bold, italic))
            link = None
    return _merged(runs)


def _merged(runs: Iterable[Run]) -> list[Run]:
    merged: list[Run] = []
    for run in runs:
        if merged and (merged[-1].bold, merged[-1].italic) == (run.bold, run.italic):
            merged[-1] = Run(merged[-1].text + run.text, run.bold, run.italic)
        elif run.text:
            merged.append(run)
    return merged


def _tick_box(runs: list[Run]) -> tuple[str | None, list[Run]]:
    """ "[ ] Food" -> ("☐", "Food"): a task-list item is a box to tick on paper."""
    match = _TASK.match(runs[0].text) if runs else None
    if match is None:
        return None, runs
    first = runs[0]
    box = "☒" if match.group(1) in "xX" else "☐"
    return box, [Run(first.text[match.end() :], first.bold, first.italic), *runs[1:]]


def parse_markdown(text: str) -> list[Block]:
    """The document as blocks, in order."""
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    blocks: list[Block] = []
    lists: list[list[int]] = []  # per open list: [is_ordered, next number]
    quote_depth = 0
    item_open: list[bool] = []  # whether the current list item already has its first paragraph
    table: list[list[list[Run]]] | None = None
    heading_level = 0
    for token in tokens:
        kind = token.type
        if kind == "heading_open":
            heading_level = int(token.tag[1:])
        elif kind == "heading_close":
            heading_level = 0
        elif kind in ("bullet_list_open", "ordered_list_open"):
            start = int(token.attrs.get("start") or 1)
            lists.append([kind == "ordered_list_open", start])
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif kind == "list_item_open":
            item_open.append(False)
        elif kind == "list_item_close":
            item_open.pop()
        elif kind == "blockquote_open":
            quote_depth += 1
        elif kind == "blockquote_close":
            quote_depth -= 1
        elif kind == "hr":
            blocks.append(Block("rule"))
        elif kind == "table_open":
            table = []
        elif kind == "table_close" and table is not None:
            blocks.append(Block("table", rows=table))
            table = None
        elif kind == "tr_open" and table is not None:
            table.append([])
        elif kind == "inline" and table is not None:
            table[-1].append(_runs(token))
        elif kind == "inline":
            runs = _runs(token)
            if heading_level:
                blocks.append(Block("heading", runs, level=heading_level))
            elif item_open and not item_open[-1]:
                item_open[-1] = True
                ordered, number = lists[-1]
                box, runs = _tick_box(runs)
                marker = f"{number}." if ordered else box or "•"
                lists[-1][1] += 1
                blocks.append(Block("item", runs, level=len(lists) - 1, marker=marker))
            elif item_open:  # a second paragraph in one item: indented, no marker
                blocks.append(Block("item", runs, level=len(lists) - 1))
            elif quote_depth:
                blocks.append(Block("quote", runs))
            else:
                blocks.append(Block("paragraph", runs))
        elif kind in ("fence", "code_block"):
            blocks.append(Block("paragraph", [Run(token.content.rstrip("\n"))]))
    return blocks


def plain_text(runs: Iterable[Run]) -> str:
    return "".join(run.text for run in runs)


# --- DOCX ----------------------------------------------------------------------------------------


def _docx_runs(paragraph: Paragraph, runs: Iterable[Run]) -> None:
    for run in runs:
        added = paragraph.add_run(run.text)
        added.bold = run.bold or None
        added.italic = run.italic or None


def _shade(cell: _Cell, fill: str) -> None:
    properties = cell._tc.get_or_add_tcPr()
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), fill)
    properties.append(shading)


def _bottom_border(paragraph: Paragraph) -> None:
    properties = paragraph._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for name, value in (("val", "single"), ("sz", "6"), ("space", "1"), ("color", "999999")):
        bottom.set(qn(f"w:{name}"), value)
    borders.append(bottom)
    properties.append(borders)


def to_docx(blocks: list[Block], title: str, language: str) -> bytes:
    """A Word document with real headings, lists and tables: staff edit it."""
    document = docx.Document()
    document.core_properties.title = title
    document.core_properties.language = language
    for section in document.sections:
        section.left_margin = section.right_margin = Cm(2)
        section.top_margin = section.bottom_margin = Cm(2)
    normal = document.styles["Normal"]
    normal.font.name = "Calibri"  # type: ignore[attr-defined]
    normal.font.size = Pt(11)  # type: ignore[attr-defined]
    for block in blocks:
        if block.kind == "heading":
            heading = document.add_heading(level=min(block.level, 4))
            _docx_runs(heading, block.runs)
            for run in heading.runs:
                run.font.color.rgb = RGBColor(*_ACCENT)
        elif block.kind == "paragraph":
            _docx_runs(document.add_paragraph(), block.runs)
        elif block.kind == "item":
            if block.marker == "•":  # (a ☐ item is written out like a numbered one)
                style = "List Bullet" if block.level == 0 else "List Bullet 2"
                paragraph = document.add_paragraph(style=style)
            else:  # numbers written out: Word's list numbering would run on across lists
                paragraph = document.add_paragraph()
                paragraph.paragraph_format.left_indent = Cm(0.8 + 0.8 * block.level)
                paragraph.paragraph_format.first_line_indent = Cm(-0.6) if block.marker else None
                if block.marker:
                    paragraph.add_run(block.marker + " ")
            _docx_runs(paragraph, block.runs)
        elif block.kind == "quote":
            paragraph = document.add_paragraph()
            paragraph.paragraph_format.left_indent = Cm(0.8)
            _docx_runs(paragraph, block.runs)
            for run in paragraph.runs:
                run.font.color.rgb = RGBColor(*_GREY)
        elif block.kind == "rule":
            _bottom_border(document.add_paragraph())
        elif block.kind == "table" and block.rows:
            columns = max(len(row) for row in block.rows)
            table = document.add_table(rows=len(block.rows), cols=columns)
            table.style = "Table Grid"
            for row_number, row in enumerate(block.rows):
                for column, runs in enumerate(row):
                    cell = table.cell(row_number, column)
                    paragraph = cell.paragraphs[0]
                    if row_number == 0:
                        runs = [Run(r.text, True, r.italic) for r in runs]
                        _shade(cell, "DCE6F0")
                    _docx_runs(paragraph, runs)
            document.add_paragraph()
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


# --- PDF -----------------------------------------------------------------------------------------


class _Pdf(FPDF):
    """Letter pages with page numbers, in DejaVu Sans."""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(_PDF_FONT, "", 8)
        self.set_text_color(*_GREY)
        self.cell(0, 5, str(self.page_no()), align="C")
        self.set_text_color(0, 0, 0)


def _pdf_font(pdf: FPDF) -> None:
    for style, name in (
        ("", "DejaVuSans.ttf"),
        ("B", "DejaVuSans-Bold.ttf"),
        ("I", "DejaVuSans-Oblique.ttf"),
        ("BI", "DejaVuSans-BoldOblique.ttf"),
    ):
        pdf.add_font(_PDF_FONT, style, str(_FONTS / name))


def _pdf_runs(pdf: FPDF, runs: Iterable[Run], size: float, height: float) -> None:
    for run in runs:
        style = ("B" if run.bold else "") + ("I" if run.italic else "")
        pdf.set_font(_PDF_FONT, style, size)
        pdf.write(height, run.text)


BODY_SIZE = 10.5
LINE = 5.4
HEADING_SIZES = {1: 17, 2: 13.5, 3: 12, 4: 11}


def to_pdf(blocks: list[Block], title: str, language: str) -> bytes:
    """A PDF to print: Letter pages, headings, lists with hanging indents, ruled tables."""
    pdf = _Pdf(format="Letter", unit="mm")
    pdf.set_title(title)
    pdf.set_lang(language)
    pdf.set_creator("Community Schools Resource Finder")
    _pdf_font(pdf)
    pdf.set_margins(18, 16, 18)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_page()
    left = pdf.l_margin
    previous = ""
    for block in blocks:
        if previous == "item" and block.kind != "item":
            pdf.ln(1.5)
        previous = block.kind
        if block.kind == "heading":
            size = HEADING_SIZES.get(block.level, BODY_SIZE)
            pdf.ln(3 if block.level > 1 else 0)
            pdf.set_text_color(*_ACCENT)
            pdf.set_font(_PDF_FONT, "B", size)
            pdf.multi_cell(0, size * 0.5, plain_text(block.runs))
            pdf.set_text_color(0, 0, 0)
            pdf.ln(1.5)
        elif block.kind == "paragraph":
            _pdf_runs(pdf, block.runs, BODY_SIZE, LINE)
            pdf.ln(LINE + 1.5)
        elif block.kind == "item":
            indent = left + 6 * block.level
            text_at = indent + (7 if block.marker[:1].isdigit() else 5)
            pdf.set_x(indent)
            if block.marker:
                pdf.set_font(_PDF_FONT, "", BODY_SIZE)
                pdf.cell(text_at - indent, LINE, block.marker)
            pdf.set_left_margin(text_at)
            pdf.set_x(text_at)
            _pdf_runs(pdf, block.runs, BODY_SIZE, LINE)
            pdf.set_left_margin(left)
            pdf.ln(LINE + 0.8)
        elif block.kind == "quote":
            top, page = pdf.get_y(), pdf.page
            pdf.set_left_margin(left + 5)
            pdf.set_x(left + 5)
            pdf.set_text_color(*_GREY)
            _pdf_runs(pdf, block.runs, BODY_SIZE, LINE)
            pdf.set_text_color(0, 0, 0)
            pdf.set_left_margin(left)
            pdf.ln(LINE)
            if pdf.page == page:  # a bar beside the quote
                pdf.set_draw_color(*_ACCENT)
                pdf.set_line_width(0.8)
                pdf.line(left + 1.5, top, left + 1.5, pdf.get_y())
                pdf.set_line_width(0.2)
                pdf.set_draw_color(0, 0, 0)
            pdf.ln(2)
        elif block.kind == "rule":
            pdf.ln(1)
            pdf.set_draw_color(170, 170, 170)
            pdf.line(left, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
            pdf.set_draw_color(0, 0, 0)
            pdf.ln(4)
        elif block.kind == "table" and block.rows:
            pdf.set_font(_PDF_FONT, "", BODY_SIZE - 1)
            columns = max(len(row) for row in block.rows)
            with pdf.table(
                line_height=LINE - 0.4,
                text_align="LEFT",
                headings_style=FontFace(emphasis="BOLD", fill_color=(220, 230, 240)),
                borders_layout="ALL",
                padding=1.2,
            ) as table:
                for row in block.rows:
                    cells = table.row()
                    for column in range(columns):
                        runs = row[column] if column < len(row) else []
                        cells.cell(plain_text(runs))
            pdf.ln(3)
    return bytes(pdf.output())


# --- what the bot calls --------------------------------------------------------------------------


def convertible(filename: str) -> bool:
    return Path(filename).suffix.lower() in CONVERTIBLE


def document_filename(filename: str, fmt: str) -> str:
    """ "partnership-mou-template.es.md" -> "partnership-mou-template.es.docx"."""
    return f"{Path(filename).stem}.{fmt}"


@lru_cache(maxsize=64)
def render_document(source: bytes, fmt: str, title: str, language: str) -> bytes:
    """The Markdown source as a DOCX or PDF (cached: the materials change rarely)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown document format {fmt!r}")
    blocks = parse_markdown(source.decode("utf-8"))
    if fmt == DOCX:
        return to_docx(blocks, title, language)
    return to_pdf(blocks, title, language)
