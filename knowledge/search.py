"""The search index: services, toolkit resources, sample materials and events, in memory.

How a query is answered:
1. Fold the text (case, accents, punctuation) and correct each word against the lexicon's words
   and the directory's vocabulary (rapidfuzz edit distance; a deletion index keeps the directory
   side fast at 100k services instead of scoring every document against the whole query).
2. Find the lexicon phrases in the corrected words ("light bill" -> utilities, "lentes" -> vision):
   each is a concept, which scores services tagged with it and expands to the words such services
   use ("dental", "teeth"...).
3. Score the remaining words with field weights (name > taxonomy/keywords > description) and
   BM25's idf, on numpy arrays.
4. Keep only what clears a confidence threshold: no good match gives nothing, not a guess.
Language, open-now and distance then shape the list.
"""

from __future__ import annotations

import math
import time
from array import array
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.hours import OpenInterval, is_open, weekly_intervals
from knowledge.lexicon import Lexicon
from knowledge.models import (
    Attribute,
    Event,
    Language,
    Location,
    Organization,
    SampleMaterial,
    Schedule,
    Service,
    ServiceAtLocation,
    TaxonomyTerm,
    ToolkitResource,
    utcnow,
)
from knowledge.text import fold, short_hash, tokens

NAME_WEIGHT, TAG_WEIGHT, BODY_WEIGHT = 3.0, 2.0, 1.0
CONCEPT_TAG_SCORE = 6.0  # a service tagged with the concept asked for
CONCEPT_EXPANSION = 0.6  # share of a concept word's score when it only appears in the text
LANGUAGE_BOOST = 1.25  # serving the asker's language moves a service up, never out
MIN_SCORE = 1.5  # below this nothing is a good match
RELATIVE_CUTOFF = 0.3  # drop the long tail far below the best match
FUZZY_PENALTY = 0.12  # per edit
KINDS = ("service", "resource", "material", "event")


@dataclass(slots=True)
class Document:
    """What the index needs of one searchable thing; the full record stays in the database."""

    id: str
    kind: str
    title: str
    name: str
    tags: str
    body: str
    concepts: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    points: tuple[tuple[float, float], ...] = ()
    hours: tuple[OpenInterval, ...] = ()


@dataclass(frozen=True, slots=True)
class SearchQuery:
    text: str = ""
    language: str | None = None
    limit: int = 5
    offset: int = 0
    near: tuple[float, float] | None = None
    open_now: bool = False
    kinds: frozenset[str] | None = None
    concept: str | None = None  # browsing a category button rather than typing


@dataclass(frozen=True, slots=True)
class SearchHit:
    id: str
    kind: str
    title: str
    score: float  # 0..1, how much of what was asked this result covers
    distance_km: float | None = None


@dataclass(frozen=True, slots=True)
class SearchOutcome:
    query: str
    language: str
    hits: list[SearchHit]
    total: int  # confident matches in all, for "more results"
    concepts: list[str] = field(default_factory=list)

    @property
    def matched(self) -> bool:
        return self.total > 0


def _deletes(word: str) -> set[str]:
    return {word} | {word[:i] + word[i + 1 :] for i in range(len(word))}


def _max_edits(word: str) -> int:
    if len(word) < 4 or word.isdigit():
        return 0
    return 1 if len(word) < 8 else 2


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


class SearchIndex:
    """An immutable index; rebuild and swap it when the data changes."""

    def __init__(self, documents: list[Document], lexicon: Lexicon, zone: ZoneInfo) -> None:
        started = time.perf_counter()
        self._ids_by_hash: dict[str, str] | None = None
        self._by_id: dict[tuple[str, str], Document] | None = None
        self.documents = documents
        self.lexicon = lexicon
        self.zone = zone
        self._build_vocabulary(documents)
        self._build_lexicon(lexicon)
        self.build_seconds = time.perf_counter() - started

    # --- building --------------------------------------------------------------------------

    def _build_vocabulary(self, documents: list[Document]) -> None:
        stop = self.lexicon.stopwords
        vocabulary: dict[str, int] = {}
        terms, docs, weights = array("i"), array("i"), array("f")
        for doc_index, doc in enumerate(documents):
            best: dict[str, float] = {}
            for text, weight in (
                (doc.body, BODY_WEIGHT),
                (doc.tags, TAG_WEIGHT),
                (doc.name, NAME_WEIGHT),
            ):
                for token in fold(text).split():
                    # Bare numbers (street numbers, years) only ever match by accident.
                    if len(token) > 1 and not token.isdigit() and token not in stop:
                        best[token] = weight
            for token, weight in best.items():
                term = vocabulary.setdefault(token, len(vocabulary))
                terms.append(term)
                docs.append(doc_index)
                weights.append(weight)
        self.vocabulary = vocabulary
        self.words = list(vocabulary)
        term_array = np.frombuffer(terms, dtype=np.int32)
        order = np.argsort(term_array, kind="stable")
        self.posting_docs = np.frombuffer(docs, dtype=np.int32)[order]
        self.posting_weights = np.frombuffer(weights, dtype=np.float32)[order]
        self.offsets = np.searchsorted(term_array[order], np.arange(len(vocabulary) + 1))
        frequency = np.diff(self.offsets).astype(np.float64)
        n = max(len(documents), 1)
        self.idf = np.log1p((n - frequency + 0.5) / (frequency + 0.5)).astype(np.float32)
        self.frequency = frequency

        keys, ids = array("q"), array("i")
        for term, word in enumerate(self.words):
            if _max_edits(word):
                for variant in _deletes(word):
                    keys.append(hash(variant))
                    ids.append(term)
        key_array = np.frombuffer(keys, dtype=np.int64)
        order = np.argsort(key_array, kind="stable")
        self.delete_keys = key_array[order]
        self.delete_terms = np.frombuffer(ids, dtype=np.int32)[order]

        self.kind_of = np.array([KINDS.index(d.kind) for d in documents], dtype=np.int8)
        self.serves_spanish = np.array(["es" in d.languages for d in documents], dtype=bool)
        self.concept_docs: dict[str, np.ndarray] = {}
        tagged: dict[str, list[int]] = defaultdict(list)
        for doc_index, doc in enumerate(documents):
            for concept in doc.concepts:
                tagged[concept].append(doc_index)
        self.concept_docs = {c: np.array(ix, dtype=np.int32) for c, ix in tagged.items()}

    def _build_lexicon(self, lexicon: Lexicon) -> None:
        self.phrases: dict[tuple[str, ...], list[tuple[str, str]]] = defaultdict(list)
        for concept in lexicon.concepts:
            for language, phrases in concept.phrases.items():
                for phrase in phrases:
                    words = tuple(phrase.split())
                    if words and not all(w in lexicon.stopwords for w in words):
                        self.phrases[words].append((concept.id, language))
        self.longest_phrase = max((len(p) for p in self.phrases), default=1)
        self.lexicon_words = sorted({w for p in self.phrases for w in p})
        self.lexicon_word_set = frozenset(self.lexicon_words)

    def id_for_hash(self, digest: str) -> str | None:
        if self._ids_by_hash is None:
            self._ids_by_hash = {short_hash(d.id): d.id for d in self.documents}
        return self._ids_by_hash.get(digest)

    def document(self, doc_id: str, kind: str = "service") -> Document | None:
        if self._by_id is None:
            self._by_id = {(d.kind, d.id): d for d in self.documents}
        return self._by_id.get((kind, doc_id))

    # --- querying --------------------------------------------------------------------------

    def _postings(self, term: int) -> tuple[np.ndarray, np.ndarray]:
        start, end = self.offsets[term], self.offsets[term + 1]
        return self.posting_docs[start:end], self.posting_weights[start:end]

    def _closest_in_vocabulary(self, word: str, edits: int) -> tuple[str, int] | None:
        hashes = np.fromiter((hash(v) for v in _deletes(word)), dtype=np.int64)
        lows = np.searchsorted(self.delete_keys, hashes, "left")
        highs = np.searchsorted(self.delete_keys, hashes, "right")
        best: tuple[str, int] | None = None
        best_rank = (edits + 1, 0.0)
        for low, high in zip(lows.tolist(), highs.tolist(), strict=True):
            for term in self.delete_terms[low:high].tolist():
                candidate = self.words[term]
                distance = OSA.distance(word, candidate, score_cutoff=edits)
                rank = (distance, -float(self.frequency[term]))
                if distance <= edits and rank < best_rank:
                    best, best_rank = (candidate, distance), rank
        return best

    def correct(self, word: str) -> tuple[str, float]:
        """The word as the index knows it, and how sure that is (1.0 when exact)."""
        if (
            word in self.lexicon_word_set
            or word in self.vocabulary
            or word in self.lexicon.stopwords
        ):
            return word, 1.0
        for suffix in ("es", "s"):  # plurals: "dentists", "clases"
            stem = word.removesuffix(suffix)
            if (
                stem != word
                and len(stem) > 2
                and (stem in self.lexicon_word_set or stem in self.vocabulary)
            ):
                return stem, 0.95
        edits = _max_edits(word)
        if not edits:
            return word, 1.0
        candidates: list[tuple[int, int, str]] = []  # (edits, lexicon first, word)
        found = process.extractOne(
            word, self.lexicon_words, scorer=OSA.distance, score_cutoff=edits
        )
        if found is not None:
            candidates.append((int(found[1]), 0, found[0]))
        closest = self._closest_in_vocabulary(word, min(edits, 1))
        if closest is not None:
            candidates.append((closest[1], 1, closest[0]))
        if not candidates:
            return word, 1.0
        distance, _, best = min(candidates)
        return best, 1.0 - FUZZY_PENALTY * distance

    def _find_phrases(
        self, words: list[tuple[str, float]]
    ) -> tuple[dict[str, float], list[tuple[str, float]], dict[str, int]]:
        """Concepts found (with confidence), the words left over, and language evidence."""
        concepts: dict[str, float] = {}
        leftover: list[tuple[str, float]] = []
        evidence: dict[str, int] = defaultdict(int)
        i = 0
        while i < len(words):
            for size in range(min(self.longest_phrase, len(words) - i), 0, -1):
                window = words[i : i + size]
                matches = self.phrases.get(tuple(w for w, _ in window))
                if matches:
                    quality = min(q for _, q in window)
                    for concept, language in matches:
                        concepts[concept] = max(concepts.get(concept, 0.0), quality)
                        evidence[language] += size
                    i += size
                    break
            else:
                leftover.append(words[i])
                i += 1
        return concepts, leftover, evidence

    def _guess_language(self, raw_words: list[str], evidence: dict[str, int]) -> str:
        spanish = evidence.get("es", 0) + sum(w in SPANISH_HINTS for w in raw_words)
        english = evidence.get("en", 0) + sum(w in ENGLISH_HINTS for w in raw_words)
        return "es" if spanish > english else "en"

    def search(self, query: SearchQuery, now: datetime | None = None) -> SearchOutcome:
        raw = tokens(query.text)[:64]  # a pasted essay is not a better question
        corrected = [self.correct(w) for w in raw]
        concepts, leftover, evidence = self._find_phrases(corrected)
        language = query.language or self._guess_language(raw, evidence)
        if query.concept:
            concepts[query.concept] = 1.0

        n = len(self.documents)
        scores = np.zeros(n, dtype=np.float32)
        strength = 0.0
        for concept_id, quality in concepts.items():
            tagged = self.concept_docs.get(concept_id)
            if tagged is not None:
                scores[tagged] += CONCEPT_TAG_SCORE * quality
            best = np.zeros(n, dtype=np.float32)
            concept = self.lexicon.concept(concept_id)
            top_term = 0.0
            for word in concept.terms if concept else []:
                term = self.vocabulary.get(word)
                if term is not None:
                    docs, weights = self._postings(term)
                    value = weights * self.idf[term] * CONCEPT_EXPANSION
                    best[docs] = np.maximum(best[docs], value)
                    top_term = max(
                        top_term, float(self.idf[term]) * NAME_WEIGHT * CONCEPT_EXPANSION
                    )
            scores += best * quality
            strength += (CONCEPT_TAG_SCORE if tagged is not None else 0.0) + top_term
        for word, quality in leftover:
            term = self.vocabulary.get(word)
            if word in self.lexicon.stopwords or term is None:
                continue
            docs, weights = self._postings(term)
            scores[docs] += weights * (self.idf[term] * quality)
            strength += float(self.idf[term]) * NAME_WEIGHT

        browsing = not concepts and not strength and query.near is not None and not raw
        if browsing:  # a shared location alone: everything nearby
            scores[:] = MIN_SCORE
            strength = MIN_SCORE
        if query.kinds:
            allowed = np.isin(self.kind_of, [KINDS.index(k) for k in query.kinds])
            scores[~allowed] = 0.0
        if language == "es":
            scores[self.serves_spanish] *= LANGUAGE_BOOST

        candidates = np.flatnonzero(scores >= MIN_SCORE)
        if candidates.size:
            top = float(scores[candidates].max())
            candidates = candidates[scores[candidates] >= top * RELATIVE_CUTOFF]
        ordered = candidates[np.argsort(-scores[candidates], kind="stable")].tolist()

        if query.open_now:
            local = (now or utcnow()).astimezone(self.zone)
            ordered = [i for i in ordered if is_open(self.documents[i].hours, local)]
        distances: dict[int, float] = {}
        if query.near is not None:
            for i in ordered:
                points = self.documents[i].points
                if points:
                    distances[i] = min(haversine_km(query.near, p) for p in points)
            if browsing:
                ordered = [i for i in ordered if i in distances]
            ordered.sort(key=lambda i: distances.get(i, math.inf))

        page = ordered[query.offset : query.offset + query.limit]
        hits = [
            SearchHit(
                id=self.documents[i].id,
                kind=self.documents[i].kind,
                title=self.documents[i].title,
                score=round(min(1.0, float(scores[i]) / max(strength, MIN_SCORE)), 3),
                distance_km=round(distances[i], 2) if i in distances else None,
            )
            for i in page
        ]
        return SearchOutcome(
            query=query.text,
            language=language,
            hits=hits,
            total=len(ordered),
            concepts=sorted(concepts, key=lambda c: -concepts[c]),
        )


SPANISH_HINTS = frozenset(
    "necesito busco quiero donde para mi mis hijo hija ninos nino por favor ayuda con los las una "
    "hay tengo puedo gracias hola que como cerca familia esposo escuela".split()
)
ENGLISH_HINTS = frozenset(
    "i need my for the a where can get help with near kid kids son daughter please want "
    "looking find is are have school husband".split()
)


# --- loading documents from the database ------------------------------------------------------

SPANISH_NAMES = {"es", "spa", "spanish", "espanol", "castellano"}


def _language_codes(names: Iterable[str | None]) -> frozenset[str]:
    codes = set()
    for name in names:
        folded = fold(name or "")
        if folded in SPANISH_NAMES:
            codes.add("es")
        elif folded in {"en", "eng", "english", "ingles"}:
            codes.add("en")
        elif folded:
            codes.add(folded[:12])
    return frozenset(codes)


async def load_documents(session: AsyncSession, concept_ids: Iterable[str] = ()) -> list[Document]:
    """Everything searchable, read with plain column queries (fast at 100k services)."""
    known_concepts = set(concept_ids)
    organizations = dict((await session.execute(select(Organization.id, Organization.name))).all())
    term_rows = (
        await session.execute(select(TaxonomyTerm.id, TaxonomyTerm.code, TaxonomyTerm.name))
    ).all()
    term_names = {tid: name for tid, _, name in term_rows}
    term_concepts = {tid: code for tid, code, _ in term_rows if code and code in known_concepts}
    tags: dict[str, list[str]] = defaultdict(list)
    concepts: dict[str, set[str]] = defaultdict(set)
    for link_id, term_id in (
        await session.execute(
            select(Attribute.link_id, Attribute.taxonomy_term_id).where(
                (Attribute.link_entity == "service") | (Attribute.link_entity.is_(None))
            )
        )
    ).all():
        tags[link_id].append(term_names.get(term_id, ""))
        if term_id in term_concepts:
            concepts[link_id].add(term_concepts[term_id])

    points_of_location = {
        lid: (lat, lon)
        for lid, lat, lon in (
            await session.execute(select(Location.id, Location.latitude, Location.longitude))
        ).all()
        if lat is not None and lon is not None
    }
    service_locations: dict[str, list[str]] = defaultdict(list)
    for service_id, location_id in (
        await session.execute(select(ServiceAtLocation.service_id, ServiceAtLocation.location_id))
    ).all():
        service_locations[service_id].append(location_id)

    schedule_rows: dict[str, list[tuple[str | None, str | None, str | None, str | None]]] = (
        defaultdict(list)
    )
    for service_id, location_id, freq, byday, opens, closes in (
        await session.execute(
            select(
                Schedule.service_id,
                Schedule.location_id,
                Schedule.freq,
                Schedule.byday,
                Schedule.opens_at,
                Schedule.closes_at,
            )
        )
    ).all():
        schedule_rows[service_id or f"location:{location_id}"].append((freq, byday, opens, closes))

    languages: dict[str, list[str | None]] = defaultdict(list)
    for service_id, name, code in (
        await session.execute(select(Language.service_id, Language.name, Language.code))
    ).all():
        if service_id:
            languages[service_id] += [code or name]

    documents: list[Document] = []
    services = await session.execute(
        select(
            Service.id,
            Service.organization_id,
            Service.name,
            Service.alternate_name,
            Service.description,
            Service.eligibility_description,
            Service.interpretation_services,
            Service.status,
        )
    )
    for sid, org_id, name, alternate, description, eligibility, interpretation, status in services:
        if (status or "active").lower() != "active":
            continue
        locations = service_locations.get(sid, [])
        rows = schedule_rows.get(sid) or [
            row for lid in locations for row in schedule_rows.get(f"location:{lid}", [])
        ]
        spoken = languages.get(sid, [])
        if interpretation and "spanish" in fold(interpretation).split():
            spoken = [*spoken, "es"]
        documents.append(
            Document(
                id=sid,
                kind="service",
                title=name,
                name=f"{name} {alternate or ''}",
                tags=" ".join([organizations.get(org_id, ""), *tags.get(sid, [])]),
                body=f"{description or ''} {eligibility or ''}",
                concepts=frozenset(concepts.get(sid, ())),
                languages=_language_codes(spoken),
                points=tuple(
                    points_of_location[lid] for lid in locations if lid in points_of_location
                ),
                hours=tuple(weekly_intervals(rows)),
            )
        )

    for resource in (
        await session.scalars(select(ToolkitResource).order_by(ToolkitResource.position))
    ).all():
        documents.append(
            Document(
                id=resource.id,
                kind="resource",
                title=resource.title_en,
                name=f"{resource.title_en} {resource.title_es}",
                tags=f"{resource.keywords_en} {resource.keywords_es}",
                body=f"{resource.summary_en} {resource.summary_es} {resource.body_en} {resource.body_es}",
                languages=frozenset({"en", "es"}),
            )
        )
    for material in (
        await session.scalars(select(SampleMaterial).order_by(SampleMaterial.position))
    ).all():
        documents.append(
            Document(
                id=material.id,
                kind="material",
                title=material.title_en,
                name=f"{material.title_en} {material.title_es}",
                tags=f"{material.keywords_en} {material.keywords_es}",
                body=f"{material.description_en} {material.description_es}",
                languages=frozenset({"en", "es"} if material.content_es else {"en"}),
            )
        )
    events = await session.execute(
        select(Event.id, Event.title, Event.where, Event.description).where(
            Event.cancelled_at.is_(None), Event.starts_at > utcnow()
        )
    )
    for event_id, title, where, description in events:
        documents.append(
            Document(
                id=str(event_id),
                kind="event",
                title=title,
                name=title,
                tags=where or "",
                body=description or "",
            )
        )
    return documents


async def build_index(session: AsyncSession, lexicon: Lexicon, zone: ZoneInfo) -> SearchIndex:
    documents = await load_documents(session, (c.id for c in lexicon.concepts))
    return SearchIndex(documents, lexicon, zone)
