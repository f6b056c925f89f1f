"""The Spanish catalog covers every text in the code, and keeps what the code relies on.

The msgids are extracted from the code with Babel, exactly as `make messages` does (babel.cfg),
so a text added with `_("...")` or `who._("...")` fails here until it is translated:

    make messages    # refreshes bot/locales/messages.pot and bot/locales/es/.../messages.po
    # then fill the new empty msgstr "" entries in bot/locales/es/LC_MESSAGES/messages.po

No database is needed.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Iterator
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages import frontend
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.i18n import translator

ROOT = Path(__file__).resolve().parents[1]
MAPPING = ROOT / "babel.cfg"
SPANISH_PO = ROOT / "bot" / "locales" / "es" / "LC_MESSAGES" / "messages.po"
HOW_TO_FIX = (
    "Run `make messages`, then translate the new entries in "
    "bot/locales/es/LC_MESSAGES/messages.po (msgstr must not be empty or fuzzy)."
)

PLACEHOLDER = re.compile(r"\{[^{}]*\}")
HTML = re.compile(r"</?[A-Za-z][^<>]*>|&(?:[A-Za-z]+|#\d+|#x[0-9A-Fa-f]+);")

# --- what the code asks for -----------------------------------------------------------------


def _mapping() -> tuple[list[tuple[str, str]], dict[str, dict[str, str]]]:
    parse = getattr(frontend, "parse_mapping_cfg", None) or frontend.parse_mapping
    with MAPPING.open(encoding="utf-8") as handle:
        return parse(handle, filename=str(MAPPING))  # type: ignore[no-any-return]


@cache
def extracted() -> dict[str, list[str]]:
    """msgid -> where it is used ("bot/x.py:12"), found the way `pybabel extract` finds them."""
    method_map, options_map = _mapping()
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map
    ):
        msgid = message if isinstance(message, str) else message[0]
        if msgid:
            found.setdefault(msgid, []).append(f"{filename}:{lineno}")
    return found


def _translation_calls() -> Iterator[tuple[str, int, ast.Call]]:
    """Every `_(...)` and `x._(...)` call in the files babel.cfg maps, f-strings included."""
    method_map, _options = _mapping()
    patterns = [pattern for pattern, method in method_map if method == "python"]
    seen: set[Path] = set()
    for pattern in patterns:
        # babel.cfg's "bot/**.py" means every .py file under bot/, at any depth.
        glob = pattern.replace("**.py", "**/*.py")
        for path in sorted(ROOT.glob(glob)):
            if path in seen:
                continue
            seen.add(path)
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            relative = path.relative_to(ROOT).as_posix()
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                function = node.func
                name = (
                    function.id
                    if isinstance(function, ast.Name)
                    else function.attr
                    if isinstance(function, ast.Attribute)
                    else None
                )
                if name == "_":
                    yield relative, node.lineno, node


@cache
def spanish() -> Catalog:
    with SPANISH_PO.open("rb") as handle:
        return read_po(handle, locale="es", abort_invalid=True)


def _listing(msgids: dict[str, list[str]]) -> str:
    return "\n".join(f"  {msgid!r}  ({', '.join(where)})" for msgid, where in msgids.items())


def _required() -> dict[str, list[str]]:
    """The msgids the code uses."""
    return extracted()


# --- the tests --------------------------------------------------------------------------------


def test_spanish_catalog_parses_and_compiles() -> None:
    catalog = spanish()
    assert catalog.locale is not None and str(catalog.locale) == "es"
    assert len(catalog) > 0
    write_mo(BytesIO(), catalog)  # what bot/i18n.py does at start


def test_extraction_finds_the_handlers_texts() -> None:
    files = {where.split(":")[0] for places in extracted().values() for where in places}
    handlers = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "bot" / "handlers").glob("*.py")
        if path.name != "__init__.py"
    }
    calling = {relative for relative, _line, _call in _translation_calls()}
    missing = sorted((handlers & calling) - files)
    assert not missing, f"Babel found no texts in {missing}; check babel.cfg."


def test_every_text_in_the_code_is_translated_to_spanish() -> None:
    catalog = spanish()
    untranslated = {}
    for msgid, where in _required().items():
        message = catalog.get(msgid)
        if message is None or not message.string or message.fuzzy:
            untranslated[msgid] = where
    assert not untranslated, (
        f"{len(untranslated)} text(s) in the code have no Spanish translation:\n"
        f"{_listing(untranslated)}\n{HOW_TO_FIX}"
    )


def test_translations_keep_placeholders_markup_and_spacing() -> None:
    catalog = spanish()
    problems = []
    for msgid in _required():
        message = catalog.get(msgid)
        if message is None or not isinstance(message.string, str) or not message.string:
            continue  # reported by the test above
        text = message.string
        if Counter(PLACEHOLDER.findall(msgid)) != Counter(PLACEHOLDER.findall(text)):
            problems.append(f"  placeholders differ: {msgid!r} -> {text!r}")
        if Counter(HTML.findall(msgid)) != Counter(HTML.findall(text)):
            problems.append(f"  HTML tags differ: {msgid!r} -> {text!r}")
        for side, pattern in (("leading", r"^\s*"), ("trailing", r"\s*$")):
            if re.search(pattern, msgid)[0] != re.search(pattern, text)[0]:  # type: ignore[index]
                problems.append(f"  {side} spaces/newlines differ: {msgid!r} -> {text!r}")
    assert not problems, "Spanish translations that would break messages:\n" + "\n".join(problems)


def test_no_text_is_hidden_from_extraction() -> None:
    """`_("...")` inside an f-string, or `_(variable)`, never reaches the catalog."""
    found = extracted()
    hidden: dict[str, list[str]] = {}
    dynamic = []
    for relative, line, call in _translation_calls():
        argument = call.args[0] if call.args else None
        if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
            if argument.value not in found:
                hidden.setdefault(argument.value, []).append(f"{relative}:{line}")
        else:
            dynamic.append(f"  {relative}:{line}: {ast.unparse(call)}")
    problems = []
    if hidden:
        problems.append(
            "Babel cannot extract these texts (a `_()` inside an f-string, or a value only "
            "passed as a variable). Call `_()` with the literal, outside the f-string:\n"
            + _listing(hidden)
        )
    if dynamic:
        problems.append(
            "`_()` needs a string literal so `make messages` can find the text:\n"
            + "\n".join(dynamic)
        )
    assert not problems, "\n".join(problems)


def test_the_bot_speaks_spanish_from_the_catalog() -> None:
    assert translator("es")("Open 24 hours") == "Abierto las 24 horas"
    assert translator("es-MX")("Done: I will talk to you in English.") != (
        "Done: I will talk to you in English."
    )
    assert translator("en")("Open 24 hours") == "Open 24 hours"


def test_spanish_says_a_la_una_and_a_las_dos() -> None:
    """The hour picks the form: "a la 1:00" is singular in Spanish, "a las 14:30" plural."""
    _ = translator("es")
    opens = "Closed now, opens {day} at {time}"
    assert _.ngettext(opens, opens, 1).format(day="viernes", time="1:00") == (
        "Cerrado ahora, abre el viernes a la 1:00"
    )
    assert _.ngettext(opens, opens, 14).format(day="viernes", time="14:30") == (
        "Cerrado ahora, abre el viernes a las 14:30"
    )
    assert translator("en").ngettext(opens, opens, 1) == opens
