"""Surveys as data: the family needs assessment and any survey a coordinator writes, in YAML.

A survey is one YAML file (built-in ones in knowledge/content/surveys/, more in the folder
named by SURVEYS_DIR):

    id: family-needs            # lowercase letters, digits and dashes; at most 32
    title: {en: ..., es: ...}
    intro: {en: ..., es: ...}   # optional: said before the first question
    thanks: {en: ..., es: ...}  # optional: said after the last one
    questions:
      - id: food
        kind: multiple          # single (one answer) or multiple (tick all that apply)
        text: {en: ..., es: ...}
        other: true             # optional: an "Other" button, then a short typed answer
        skip: true              # optional (default true): a "Skip" button
        options:
          - {id: pantry, en: "A food pantry near us", es: "...", concept: food-pantry}

`concept` (optional) names the lexicon need an option is about, so survey answers count with
searches in the asset map. Files are checked when loaded (pydantic) and a mistake is reported
as one line naming the file and the place in it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from knowledge.content import ContentFormatError
from knowledge.lexicon import default_lexicon

BUILT_IN_DIR = Path(__file__).parent / "content" / "surveys"
LANGUAGES = ("en", "es")
NEEDS_SURVEY = "family-needs"
SKIP, OTHER = "skip", "other"  # option ids the bot gives itself; a file may not use them
MAX_OPTIONS = 12  # a phone screen of buttons; callback data carries the index
MAX_QUESTIONS = 40
MAX_LABEL = 60  # an option is a button: longer labels are cut off on phones

Id = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")]


class SurveyFormatError(ContentFormatError):
    """A survey file that does not follow the schema; the message says where."""


def _localized(value: Any, limit: int) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ValueError(f"expected a text per language ({', '.join(LANGUAGES)})")
    texts = {str(k): str(v).strip() for k, v in value.items() if v is not None}
    missing = [language for language in LANGUAGES if not texts.get(language)]
    if missing:
        raise ValueError(f"missing the {' and '.join(missing)} text")
    too_long = [language for language, text in texts.items() if len(text) > limit]
    if too_long:
        raise ValueError(f"the {too_long[0]} text is longer than {limit} characters")
    return texts


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SurveyOption(_Strict):
    id: Id
    en: str
    es: str
    concept: str | None = None

    @field_validator("en", "es")
    @classmethod
    def _label(cls, value: str) -> str:
        value = value.strip()
        if not value or len(value) > MAX_LABEL:
            raise ValueError(f"expected a button label of 1 to {MAX_LABEL} characters")
        return value

    @field_validator("concept")
    @classmethod
    def _known_concept(cls, value: str | None) -> str | None:
        if value is not None and default_lexicon().concept(value) is None:
            raise ValueError(f"'{value}' is not a need of the lexicon (concepts.yaml)")
        return value

    def label(self, language: str) -> str:
        return self.es if language == "es" else self.en


class SurveyQuestion(_Strict):
    id: Id
    kind: Literal["single", "multiple"]
    text: dict[str, str]
    options: list[SurveyOption] = Field(min_length=1, max_length=MAX_OPTIONS)
    other: bool = False
    skip: bool = True

    @field_validator("text", mode="before")
    @classmethod
    def _text(cls, value: Any) -> dict[str, str]:
        return _localized(value, 600)

    @model_validator(mode="after")
    def _distinct_options(self) -> SurveyQuestion:
        ids = [option.id for option in self.options]
        repeated = {i for i in ids if ids.count(i) > 1}
        if repeated:
            raise ValueError(f"option id '{sorted(repeated)[0]}' is used twice")
        if {SKIP, OTHER} & set(ids):
            raise ValueError(f"'{SKIP}' and '{OTHER}' are the bot's own option ids")
        return self

    def asks(self, language: str) -> str:
        return self.text.get(language) or self.text["en"]


class Survey(_Strict):
    id: Id
    title: dict[str, str]
    intro: dict[str, str] | None = None
    thanks: dict[str, str] | None = None
    questions: list[SurveyQuestion] = Field(min_length=1, max_length=MAX_QUESTIONS)

    @field_validator("title", mode="before")
    @classmethod
    def _title(cls, value: Any) -> dict[str, str]:
        return _localized(value, 100)

    @field_validator("intro", "thanks", mode="before")
    @classmethod
    def _paragraph(cls, value: Any) -> dict[str, str] | None:
        return None if value is None else _localized(value, 1000)

    @model_validator(mode="after")
    def _distinct_questions(self) -> Survey:
        ids = [question.id for question in self.questions]
        repeated = {i for i in ids if ids.count(i) > 1}
        if repeated:
            raise ValueError(f"question id '{sorted(repeated)[0]}' is used twice")
        return self

    def titled(self, language: str) -> str:
        return self.title.get(language) or self.title["en"]

    def to_json(self) -> str:
        return self.model_dump_json(exclude_none=True)

    @classmethod
    def from_json(cls, text: str) -> Survey:
        return cls.model_validate_json(text)


def _where(error: dict[str, Any]) -> str:
    parts = []
    for part in error.get("loc", ()):
        if isinstance(part, int):
            parts.append(f"[{part + 1}]")  # people count from 1
        else:
            parts.append(("." if parts else "") + str(part))
    return "".join(parts)


def read_survey(path: Path) -> Survey:
    """One survey file, checked; SurveyFormatError names the file and the first mistake."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise SurveyFormatError(f"{path}: cannot be read ({error})") from None
    except yaml.YAMLError as error:
        raise SurveyFormatError(f"{path.name}: not valid YAML ({error})") from None
    if not isinstance(data, dict):
        raise SurveyFormatError(f"{path.name}: expected a survey (id, title, questions)")
    try:
        return Survey.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = _where(dict(first))
        message = re.sub(r"^Value error, ", "", str(first["msg"]))
        raise SurveyFormatError(f"{path.name}: {where}: {message}") from None


def load_surveys(extra_dir: Path | None = None) -> dict[str, Survey]:
    """The built-in surveys, then every *.yaml / *.yml in `extra_dir`, by id, in file order."""
    folders = [BUILT_IN_DIR]
    if extra_dir is not None:
        if not extra_dir.is_dir():
            raise SurveyFormatError(f"SURVEYS_DIR {extra_dir}: not a folder")
        folders.append(extra_dir)
    surveys: dict[str, Survey] = {}
    origin: dict[str, str] = {}
    for folder in folders:
        for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
            survey = read_survey(path)
            if survey.id in surveys:
                raise SurveyFormatError(
                    f"{path.name}: survey id '{survey.id}' is used by {origin[survey.id]} already"
                )
            surveys[survey.id] = survey
            origin[survey.id] = path.name
    return surveys


@lru_cache(maxsize=4)
def available_surveys(extra_dir: str = "") -> dict[str, Survey]:
    """`load_surveys`, read once per process (SURVEYS_DIR is read at start)."""
    return load_surveys(Path(extra_dir) if extra_dir else None)


def poll_survey(question: str, options: list[str]) -> Survey:
    """A one-question survey from a coordinator's poll, in the words they wrote (any language)."""
    both = {language: question for language in LANGUAGES}
    return Survey(
        id="poll",
        title=both,
        questions=[
            SurveyQuestion(
                id="poll",
                kind="single",
                text=both,
                options=[
                    SurveyOption(id=f"o{number}", en=label, es=label)
                    for number, label in enumerate(options, start=1)
                ],
            )
        ],
    )
