"""The search index: services, toolkit resources, sample materials and events, in memory.

How a query is answered:
1. Split the text into folded words (case, accents, punctuation, apostrophes) and read each one:
   filler ("my", "para"), a word the index knows (exactly, or by its stem: "funding" for
   "fund"), or a typo corrected by edit distance against the lexicon's words and the directory's
   vocabulary (rapidfuzz on the lexicon; a deletion index over the directory's words, so a typo
   costs a few binary searches at 100k services instead of a comparison with every document).
   Words of four letters or fewer are never corrected: there every word is one edit from another
   (cena/cama, visa/vita, pebt/debt).
2. Find the lexicon's phrases ("light bill" -> utilities, "lentes" -> vision) by their content
   words, so filler in between doesn't matter ("leche para el bebé" = "leche para bebé"). Each
   names a concept, which scores the services tagged with it and expands to the words such
   services use ("dental", "teeth"...), for directories without our tags.
3. Score the words on numpy arrays with field weights (name > taxonomy/keywords > description)
   and BM25's idf and length normalisation. Words read as a concept then only rank its services,
   and filler only breaks ties between documents something else found.
4. Keep only what clears a confidence threshold: no good match gives nothing, not a guess.
Language, open-now and distance then shape the list.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.lexicon import Lexicon
from knowledge.models import utcnow
from knowledge.places import COUNTY_WORDS, Gazetteer, Place, us_gazetteer
from knowledge.search_documents import Document, load_documents
from knowledge.search_tables import EARTH_RADIUS_KM, KINDS, NAME, IndexTables, Phrase
from knowledge.search_words import (
    TERM_MASK,
    delete_key,
    deletes,
    form,
    inflections,
    is_common_word,
    max_edits,
    read_open_day,
    read_open_now,
    snowball,
    stem,
    words_of,
)
from knowledge.service_areas import state_name
from knowledge.text import short_hash

__all__ = [
    "EARTH_RADIUS_KM",
    "Document",
    "SearchHit",
    "SearchIndex",
    "SearchOutcome",
    "SearchQuery",
    "build_index",
    "load_documents",
    "read_open_day",
    "read_open_now",
    "words_of",
]

CONCEPT_TAG_SCORE = 9.0  # a service tagged with the concept asked for
CONCEPT_EXPANSION = 0.4  # share of a concept word's score when it only appears in the text
PHRASE_WORD_SHARE = 0.5  # words read as a concept still rank its services, at this share
STOPWORD_SHARE = 0.15  # "what is a community school": filler only breaks ties...
STOPWORD_MIN_IDF = 0.7  # ...and not even that when nearly every document has it ("the")
STEM_FACTOR = 0.85  # "funding" for "fund": a little less sure than the word itself
FUZZY_PENALTY = 0.12  # per edit
NARROW_FACTOR = 0.9  # per need a service is tagged with beyond those asked about...
NARROW_MAX = 3  # ...counting this many at most
STORY_WORD_SHARE = 0.7
UNKNOWN_WORD_STRENGTH = 2.0  # a word nobody uses still counts against coverage (gibberish)
MIN_SCORE = 1.5  # below this nothing is a good match
MIN_COVERAGE = 0.25  # the best match must cover this share of what was asked
RELATIVE_CUTOFF = 0.3  # drop the long tail far below the best match
MAX_QUERY_WORDS = 64  # a pasted essay is not a better question
TERMS_CACHE_SIZE = 50_000

STAFF_TOOLKIT_FIRST = 100.0  # any confident toolkit match above any service, for staff
NEAR_KM = 10.0  # "near me", "near 94403": within this, or serving the place
PLACE_TIERS = {"county": 0.9, "state": 0.8}  # serving a whole area, against being in the town
PLACE_RANK = 10.0  # a tier apart outweighs any difference in how well the need is met


@dataclass(frozen=True, slots=True)
class SearchQuery:
    text: str = ""
    language: str | None = None  # the asker's; a question written in Spanish counts as Spanish
    limit: int = 5
    offset: int = 0
    near: tuple[float, float] | None = None
    open_now: bool = False
    open_day: int | None = None  # "open on Saturday": open some time that day (from now, today)
    kinds: frozenset[str] | None = None
    concept: str | None = None  # browsing a category button rather than typing
    # Who asks: a family's need is answered with services (the toolkit and sample materials
    # only when the question is about the partnership itself); staff see the toolkit first.
    audience: str = "family"


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
    place: str | None = None  # the place the question named, as understood ("Peoria, IL")

    @property
    def matched(self) -> bool:
        return self.total > 0


@dataclass(slots=True)
class QueryWord:
    """One word of a query as the index reads it."""

    text: str  # as corrected
    form: str  # form(text), for finding phrases
    quality: float  # 1.0 when typed as the index knows it, less when corrected
    # "stop" (filler), "minor" (numbers, single letters), "known", "story" (an everyday word
    # the index does not know: part of the story, not the need) or "unknown" (gibberish)
    role: str
    in_phrase: bool = False

    @classmethod
    def of(cls, text: str, quality: float, role: str) -> QueryWord:
        return cls(text, form(text), quality, role)


class SearchIndex(IndexTables):
    """An immutable index; rebuild and swap it when the data changes.

    It keeps arrays, not the documents: at 100k services their texts would double its memory.
    """

    def __init__(
        self,
        documents: list[Document],
        lexicon: Lexicon,
        zone: ZoneInfo,
        gazetteer: Gazetteer | None = None,
    ) -> None:
        started = time.perf_counter()
        self.lexicon = lexicon
        self.zone = zone
        self.gazetteer = gazetteer
        self._ids_by_hash: dict[str, str] | None = None
        self._open_cache: tuple[int, np.ndarray] | None = None
        self._terms_cache: dict[str, list[tuple[int, float]]] = {}
        self._build_phrases(lexicon)
        self._tag_services(documents)
        self._build_postings(documents)
        self._build_deletion_index()
        self._build_facts(documents)
        self._build_places(documents)
        is_common_word("warm")  # loads the word lists here, not on a family's first question
        self.build_seconds = time.perf_counter() - started

    # --- building --------------------------------------------------------------------------

    def _tag_services(self, documents: list[Document]) -> None:
        """Tag each service with the concepts its own words name, as a question naming them
        would be read ("Eviction defense help desk" is eviction): imported directories carry
        no tags of ours, and tagging here keeps them in step with the lexicon as it grows."""
        # Only a word that starts a phrase can start a tag: most names have none.
        starts = {key[0] for key in self.phrases}
        found: dict[str, frozenset[str]] = {}  # real directories repeat names a lot
        for doc in documents:
            # A service the directory tagged with our concepts (its taxonomy uses our codes)
            # keeps its tags: words are for directories that have none of ours.
            if doc.kind != "service" or doc.concepts:
                continue
            text = doc.about or doc.name
            concepts = found.get(text)
            if concepts is None:
                words = [self._read_own_word(w) for w in _without_counties(words_of(text))]
                if any(w.form in starts for w in words):
                    concepts = frozenset(self.find_concepts(words, tagging=True)[0])
                else:
                    concepts = frozenset()
                found[text] = concepts
            if concepts - doc.concepts:
                doc.concepts = doc.concepts | concepts

    def _read_own_word(self, word: str) -> QueryWord:
        """A service's word as a question's would be read ("Tax Clinic" names "taxes"), but
        never corrected: a name is spelt as its directory means it."""
        if word in self.lexicon.stopwords:
            return QueryWord.of(word, 1.0, "stop")
        if word in self.lexicon_words or form(word) in self.lexicon_forms:
            return QueryWord.of(word, 1.0, "known")
        # Endings only, not the light stemmer's derivations: "Drinker Biddle" is a law firm.
        for plural in (word + "s", word + "es"):
            if plural in self.lexicon_words:
                return QueryWord.of(plural, 1.0, "known")
        for language in ("en", "es"):
            known = self.lexicon_by_snowball.get((language, snowball(word, language)))
            if known is not None:
                return QueryWord.of(known, 1.0, "known")
        return QueryWord.of(word, 1.0, "known")

    def id_for_hash(self, digest: str) -> str | None:
        if self._ids_by_hash is None:
            self._ids_by_hash = {short_hash(i): i for i in self.ids}
        return self._ids_by_hash.get(digest)

    # --- reading the question --------------------------------------------------------------

    def _postings(self, term: int) -> tuple[np.ndarray, np.ndarray]:
        start, end = self.offsets[term], self.offsets[term + 1]
        return self.posting_docs[start:end], self.posting_weights[start:end]

    def _terms_for(self, word: str) -> list[tuple[int, float]]:
        """The vocabulary terms a word matches: itself, and the words sharing its stem (less).

        Remembered: concept words come back with every question that names their concept.
        """
        terms = self._terms_cache.get(word)
        if terms is None:
            exact = self.vocabulary.get(word)
            terms = [(exact, 1.0)] if exact is not None else []
            word_stem = stem(word)
            same_stem = self.vocabulary.keys() & inflections(word_stem)
            terms += sorted(
                (self.vocabulary[w], STEM_FACTOR)
                for w in same_stem
                if w != word and stem(w) == word_stem
            )
            if len(self._terms_cache) >= TERMS_CACHE_SIZE:  # questions bring endless new words
                self._terms_cache.clear()
            self._terms_cache[word] = terms
        return terms

    def _closest_in_vocabulary(self, word: str) -> tuple[str, int] | None:
        """The most frequent vocabulary word one edit away, through the deletion index."""
        keys = np.array([delete_key(v) for v in deletes(word)], dtype=np.int64)
        lows = np.searchsorted(self.deletion_index, keys, "left").tolist()
        highs = np.searchsorted(self.deletion_index, keys | TERM_MASK, "right").tolist()
        terms = {
            int(entry) & TERM_MASK
            for low, high in zip(lows, highs, strict=True)
            for entry in self.deletion_index[low:high]
        }
        best: tuple[str, int] | None = None
        best_rank = (2, 0)
        for term in sorted(terms):
            candidate = self.words[term]
            distance = OSA.distance(word, candidate, score_cutoff=1)
            rank = (distance, -int(self.frequency[term]))
            if distance <= 1 and rank < best_rank:
                best, best_rank = (candidate, distance), rank
        return best

    def read_word(self, word: str) -> QueryWord:
        """Filler, a word the index knows (maybe by its stem), a corrected typo, or unknown."""
        stop = self.lexicon.stopwords
        if word in stop:
            return QueryWord.of(word, 1.0, "stop")
        if len(word) < 2 or word.isdigit():  # "504", "pre k": only ever part of a phrase
            return QueryWord.of(word, 1.0, "minor")
        if word in self.lexicon_words or form(word) in self.lexicon_forms:
            return QueryWord.of(word, 1.0, "known")
        if word not in self.vocabulary and stem(word) in self.lexicon_by_stem:
            return QueryWord.of(self.lexicon_by_stem[stem(word)], STEM_FACTOR, "known")
        if word not in self.vocabulary:
            for language in ("es", "en"):
                known = self.lexicon_by_snowball.get((language, snowball(word, language)))
                if known is not None:
                    return QueryWord.of(known, STEM_FACTOR, "known")
        if self._terms_for(word):
            return QueryWord.of(word, 1.0, "known")
        common = is_common_word(word)  # meant as written, unless it is one edit from a
        # need word ("shoots for school" are shots): never turned into a directory's word
        edits = max_edits(word)
        if not edits:
            return QueryWord.of(word, 1.0, "story" if common else "unknown")
        # Ranked by edits, then need words and filler before the directory's words (which
        # include every name in it), then the more frequent.
        candidates: list[tuple[int, int, int, str]] = []
        found = process.extractOne(
            word, self.correction_targets, scorer=OSA.distance, score_cutoff=edits
        )
        if found is not None:
            candidates.append((int(found[1]), 0, 0, found[0]))
        closest = None if common else self._closest_in_vocabulary(word)
        if closest is not None:
            frequency = int(self.frequency[self.vocabulary[closest[0]]])
            candidates.append((closest[1], 1, -frequency, closest[0]))
        if not candidates:
            return QueryWord.of(word, 1.0, "story" if common else "unknown")
        distance, _, _, corrected = min(candidates)
        role = "stop" if corrected in stop else "known"
        return QueryWord.of(corrected, 1.0 - FUZZY_PENALTY * distance, role)

    def find_concepts(
        self, words: list[QueryWord], tagging: bool = False
    ) -> tuple[dict[str, float], dict[str, int]]:
        """Concepts the phrases in `words` name (with confidence), and language evidence.

        Phrases are found by their content words, longest first, left to right; of the phrases
        with the same content words, those sharing the most filler with the question win ("no
        tenemos dónde dormir" is shelter's "no tengo dónde dormir", not "no puedo dormir").
        Words that make up a phrase are marked `in_phrase`. `tagging` a service's own words,
        phrases that are only ways of asking (Concept.asked_only) name nothing.
        """
        concepts: dict[str, float] = {}
        evidence: dict[str, int] = defaultdict(int)
        content = [i for i, w in enumerate(words) if w.role != "stop"]
        k = 0
        while k < len(content):
            for size in range(min(self.longest_phrase, len(content) - k), 0, -1):
                span = content[k : k + size]
                options = self.phrases.get(tuple(words[i].form for i in span), [])
                if tagging:
                    options = [phrase for phrase in options if not phrase.asked_only]
                chosen = self._best_phrases(options, words, span)
                if chosen:
                    quality = min(words[i].quality for i in span)
                    for phrase in chosen:
                        concepts[phrase.concept] = max(concepts.get(phrase.concept, 0.0), quality)
                        evidence[phrase.language] += size
                    for i in span:
                        words[i].in_phrase = True
                    k += size
                    break
            else:
                k += 1
        return concepts, evidence

    @staticmethod
    def _best_phrases(
        options: list[Phrase], words: list[QueryWord], span: list[int]
    ) -> list[Phrase]:
        """The phrases whose filler the question has most of: the largest share of it first
        ("doctor", which has none to miss, over "need a doctor now"), then the most words."""
        best: list[Phrase] = []
        best_rank = (0.0, 0)
        for phrase in options:
            reach = len(phrase.filler)  # its filler may sit this many words either side
            around = {w.text for w in words[max(0, span[0] - reach) : span[-1] + reach + 1]}
            shared = len(phrase.filler & around)
            if phrase.needs_filler and not shared:
                continue
            rank = (shared / len(phrase.filler) if phrase.filler else 1.0, shared)
            if not best or rank > best_rank:
                best, best_rank = [phrase], rank
            elif rank == best_rank:
                best.append(phrase)
        return best

    @staticmethod
    def _guess_language(raw_words: list[str], evidence: dict[str, int]) -> str:
        spanish = evidence.get("es", 0) + sum(w in SPANISH_HINTS for w in raw_words)
        english = evidence.get("en", 0) + sum(w in ENGLISH_HINTS for w in raw_words)
        return "es" if spanish > english else "en"

    # --- scoring ---------------------------------------------------------------------------

    def _add_word(
        self,
        scores: np.ndarray,
        scratch: np.ndarray,
        word: str,
        share: float,
        matched: np.ndarray | None = None,
    ) -> float:
        """Add one word's score to every document holding it (the best of its forms there),
        count it in `matched`, and return the most it can give (in a name). `scratch` comes and
        goes back all zeros."""
        terms = self._terms_for(word)
        if not terms:
            return 0.0
        # A word is as rare as its commonest form: "communitys" (once, in a title) must not
        # make "community" look rare.
        value = min(float(self.idf[term]) for term, _ in terms) * share
        if len(terms) == 1:
            term, factor = terms[0]
            docs, weights = self._postings(term)
            scores[docs] += weights * (value * factor)
            if matched is not None:
                matched[docs] += 1
            return NAME * value * factor
        for term, factor in terms:  # the best form per document, collected in scratch...
            docs, weights = self._postings(term)
            scratch[docs] = np.maximum(scratch[docs], weights * (value * factor))
        for term, _ in terms:  # ...then added once, clearing scratch as it goes
            docs, _ = self._postings(term)
            if matched is not None:
                matched[docs] += scratch[docs] > 0
            scores[docs] += scratch[docs]
            scratch[docs] = 0.0
        return NAME * value * max(factor for _, factor in terms)

    def _score(
        self, words: list[QueryWord], concepts: dict[str, float]
    ) -> tuple[np.ndarray, float, np.ndarray]:
        """Every document's score, what one matching everything asked would score, and the
        share of the question's parts (concepts, other words) each document matches."""
        n = len(self.ids)
        scores = np.zeros(n, dtype=np.float32)
        scratch = np.zeros(n, dtype=np.float32)
        matched = np.zeros(n, dtype=np.float32)
        of_a_concept = np.zeros(n, dtype=bool)
        parts = 0
        strength = 0.0
        for concept_id, quality in concepts.items():
            parts += 1
            tagged = self.concept_docs.get(concept_id)
            if tagged is not None:
                scores[tagged] += CONCEPT_TAG_SCORE * quality
                strength += CONCEPT_TAG_SCORE
            # A document using several of the concept's words is more about it: they add up,
            # with diminishing returns, to at most twice what one word in a name gives. So they
            # rank the concept's services without drowning what else the question says ("ride
            # to the doctor": rides, not bus passes).
            expansion = np.zeros(n, dtype=np.float32)
            top_term = 0.0
            for term_word in self.concept_terms.get(concept_id, ()):
                top = self._add_word(expansion, scratch, term_word, CONCEPT_EXPANSION * quality)
                top_term = max(top_term, top)
            if top_term:
                scores += 2 * top_term * expansion / (expansion + top_term)
            strength += top_term
            covered = expansion > 0
            if tagged is not None:
                covered[tagged] = True
            matched += covered
            of_a_concept |= covered
        phrase_words = np.zeros(n, dtype=np.float32)
        for word in words:
            if word.role == "unknown":
                strength += UNKNOWN_WORD_STRENGTH
            elif word.in_phrase:  # the concept counted it: here it only ranks its services
                self._add_word(phrase_words, scratch, word.text, word.quality * PHRASE_WORD_SHARE)
            elif word.role == "known":
                parts += 1
                top = self._add_word(scores, scratch, word.text, word.quality, matched)
                # Beside a need the question names, its other words are mostly the story
                # around it ("changed the locks", "put my stuff"): they rank, but a match
                # need not have them all.
                strength += top * (STORY_WORD_SHARE if concepts else 1.0)
        # ...and only its services: "hearing aids" where none are listed matches nothing, not
        # "Administrative hearings" or HIV/AIDS help.
        scores += np.where(of_a_concept, phrase_words, 0.0)
        return scores, strength, matched / max(parts, 1)

    def _break_ties_with_filler(self, scores: np.ndarray, words: list[QueryWord]) -> None:
        """Filler the question shares with a document nudges it, if it matched anyway."""
        for word in dict.fromkeys(w.text for w in words if w.role == "stop"):
            term = self.vocabulary.get(word)
            if term is None or self.idf[term] < STOPWORD_MIN_IDF:
                continue
            docs, weights = self._postings(term)
            found = scores[docs] > 0
            scores[docs[found]] += weights[found] * (float(self.idf[term]) * STOPWORD_SHARE)

    def read_place(self, raw: list[str]) -> tuple[Place | None, list[str]]:
        """The place a question names, if any, and the question's other words."""
        if self.gazetteer is None:
            return None, raw
        found = self.gazetteer.find(raw, self.states, self.place_shadowed)
        if found is None:
            return self._programme_state(raw), raw
        place, used = found
        return place, [w for i, w in enumerate(raw) if i not in used]

    def _programme_state(self, raw: list[str]) -> Place | None:
        """The state whose own programme the question names ("calfresh", "medi-cal" are
        California's): its services answer, not another state's. The words stay in the
        question, where they name the need."""
        programmes = self.lexicon.state_programmes
        for length in (3, 2, 1):
            for start in range(len(raw) - length + 1):
                state = programmes.get(tuple(raw[start : start + length]))
                if state is not None:
                    return Place(kind="state", label=state_name(state) or state, state=state)
        return None

    def _inside(
        self, place: Place, point: tuple[float, float] | None, among: np.ndarray
    ) -> np.ndarray:
        """How well each document is at `place`: 1 in its town (or, of the documents `among`,
        within NEAR_KM of `point`), less for serving its whole county or state, 0 elsewhere."""
        tier = np.zeros(len(self.ids), dtype=np.float32)
        for key in place.keys():
            docs = self.place_docs.get(key)
            if docs is not None:
                weight = 1.0 if key.startswith("in:") else PLACE_TIERS[key.split(":")[1]]
                tier[docs] = np.maximum(tier[docs], weight)
        if point is not None and len(self.point_lat) and len(among):
            tier[among[self._distances(among, point) <= NEAR_KM]] = 1.0
        return tier

    def _narrowness(self, candidates: np.ndarray, concepts: dict[str, float]) -> np.ndarray:
        """A factor per candidate: 1, less for each need it is tagged with that was not asked
        about. "Legal aid in Peoria" is best answered by Peoria's general legal aid office, not
        its eviction desk, though both say "legal help"."""
        unasked = self.tag_count[candidates].astype(np.float32)
        for concept_id in concepts:
            docs = self.concept_docs.get(concept_id)
            if docs is not None:
                unasked -= np.isin(candidates, docs, assume_unique=True)
        return np.float32(NARROW_FACTOR) ** np.minimum(unasked, NARROW_MAX)

    def search(self, query: SearchQuery, now: datetime | None = None) -> SearchOutcome:
        asked = words_of(query.text)[:MAX_QUERY_WORDS]
        place, raw = self.read_place(asked)
        named_place = place.label if place is not None else None
        if place is None and query.near is not None and self.gazetteer is not None:
            place = self.gazetteer.nearest(query.near)
        words = [self.read_word(w) for w in raw]
        concepts, evidence = self.find_concepts(words)
        written_in = self._guess_language(asked, evidence)
        # Many Spanish-speaking families have phones set to English: a question in Spanish gets
        # Spanish, while a Spanish chat asking for "food stamps" keeps its Spanish.
        language = "es" if written_in == "es" else query.language or written_in
        if query.concept:
            concepts[query.concept] = 1.0

        scores, strength, coverage = self._score(words, concepts)
        browsing = not raw and not concepts and query.near is not None
        if browsing:  # a shared location alone: everything nearby
            scores[:] = MIN_SCORE
            strength = MIN_SCORE
        else:
            self._break_ties_with_filler(scores, words)
        if query.kinds:
            scores[~np.isin(self.kind_of, [KINDS.index(k) for k in query.kinds])] = 0.0
        partnership = self.partnership
        if query.audience == "family" and concepts and query.kinds is None:  # a need
            scores[partnership] = 0.0
        tier: np.ndarray | None = None
        if place is not None:  # only what is there, or serves it
            point = query.near or (place.point if place.kind == "zip" else None)
            tier = self._inside(place, point, np.flatnonzero(scores > 0))
            scores[tier == 0] = 0.0

        top = float(scores.max()) if len(scores) else 0.0
        floor = max(MIN_SCORE, MIN_COVERAGE * strength)
        if tier is None:
            keep = scores >= max(floor, RELATIVE_CUTOFF * top)
        else:  # the long tail is cut within each tier: a place's own legal self-help centre
            # is an answer to "legal help in Effingham County" beside statewide legal aid
            keep = scores >= floor
            for level in np.unique(tier[keep]).tolist():
                at_level = keep & (tier == level)
                keep[at_level] = scores[at_level] >= RELATIVE_CUTOFF * float(scores[at_level].max())
        if query.open_day is not None and keep.any():
            keep &= coverage >= float(coverage[keep].max()) - 1e-6
            keep &= self._open_on_day_mask(query.open_day, now or utcnow())
        if query.open_now and keep.any():
            # Keep to the need: only matches as complete as the best one, then those open now
            # ("ocarina lessons open now" is not answered by open swim lessons).
            keep &= coverage >= float(coverage[keep].max()) - 1e-6
            keep &= self._open_mask(now or utcnow())
        candidates = np.flatnonzero(keep)
        distances: np.ndarray | None = None
        ranked = scores[candidates] * np.sqrt(coverage[candidates])
        if concepts:
            ranked *= self._narrowness(candidates, concepts)
        if language == "es":
            ranked *= self.spanish_boost[candidates]
        if tier is not None:  # in the town first, then serving its county, then its state
            ranked = tier[candidates] * PLACE_RANK + ranked / max(
                float(ranked.max(initial=0)), 1e-9
            )
        if query.audience != "family":  # staff and coordinators: the toolkit first
            ranked[partnership[candidates]] *= STAFF_TOOLKIT_FIRST
        point = query.near or (place.point if place is not None and place.kind == "zip" else None)
        if point is not None:  # nearest first among the confident matches
            distances = self._distances(candidates, point)
            # Serving the whole area counts as being there, after what is close by.
            if browsing and tier is None:  # no places known: what has a point
                found = np.isfinite(distances)
                candidates, distances, ranked = candidates[found], distances[found], ranked[found]
            placed = np.where(np.isfinite(distances), distances, NEAR_KM)
            # Equal to the 100 m, the better match first (the tie-break stays under 100 m).
            best = max(float(ranked.max(initial=0.0)), 1e-9)
            order_key = np.round(placed, 1) + 0.04 * (1.0 - ranked / best)
        else:
            # Ranking, not selection: a document matching more of the question's parts goes
            # first ("grants for community schools": the funding page, with all three words,
            # over reports titled with two), as does one speaking the asker's language.
            order_key = -ranked
        wanted = query.offset + query.limit
        chosen = np.arange(len(candidates))
        if len(candidates) > wanted:  # only the page needs sorting, not every match
            chosen = np.argpartition(order_key, wanted - 1)[:wanted]
        chosen = chosen[np.lexsort((candidates[chosen], order_key[chosen]))]

        hits = []
        for position in chosen[query.offset :].tolist():
            i = int(candidates[position])
            distance = float(distances[position]) if distances is not None else math.inf
            hits.append(
                SearchHit(
                    id=self.ids[i],
                    kind=KINDS[self.kind_of[i]],
                    title=self.spanish_titles.get(i, self.titles[i])
                    if language == "es"
                    else self.titles[i],
                    score=round(min(1.0, float(scores[i]) / max(strength, MIN_SCORE)), 3),
                    distance_km=round(distance, 2) if math.isfinite(distance) else None,
                )
            )
        return SearchOutcome(
            query=query.text,
            language=language,
            hits=hits,
            total=len(candidates),
            concepts=sorted(concepts, key=lambda c: -concepts[c]),
            place=named_place,
        )


def _without_counties(words: list[str]) -> list[str]:
    """A service's words less the counties it names: "Cook County" cooks no meals."""
    named = {
        j
        for i, word in enumerate(words)
        if word in COUNTY_WORDS
        for j in ((i, i + 1, i + 2) if words[i + 1 : i + 2] in (["of"], ["de"]) else (i - 1, i))
    }
    return [w for i, w in enumerate(words) if i not in named]


SPANISH_HINTS = frozenset(
    "necesito busco quiero donde para mi mis hijo hija ninos nino por favor ayuda con los las una "
    "hay tengo puedo gracias hola que como cerca familia esposo escuela".split()
)
ENGLISH_HINTS = frozenset(
    "i need my for the a where can get help with near kid kids son daughter please want "
    "looking find is are have school husband".split()
)


async def build_index(session: AsyncSession, lexicon: Lexicon, zone: ZoneInfo) -> SearchIndex:
    documents = await load_documents(session, (c.id for c in lexicon.concepts))
    gazetteer = await asyncio.to_thread(us_gazetteer)  # once per process
    # In a thread: at 100,000 services the build takes seconds of CPU, and on the event loop it
    # would hold up every reply meanwhile (measured: a 2.5 s stall, 47 ms in a thread).
    return await asyncio.to_thread(SearchIndex, documents, lexicon, zone, gazetteer)
