"""Reading a question (and a service's own words) as the index does: filler, known words,
typos, the lexicon's phrases and the concepts they name, the language, and the place named.

The pure word functions are in knowledge/search_words.py; scoring and ranking in
knowledge/search.py, whose SearchIndex is a QuestionReader.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA

from knowledge.lexicon import Lexicon
from knowledge.places import COUNTY_WORDS, Gazetteer, Place
from knowledge.search_documents import Document
from knowledge.search_tables import IndexTables, Phrase
from knowledge.search_words import (
    TERM_MASK,
    delete_key,
    deletes,
    form,
    how_common,
    inflections,
    is_common_word,
    is_everyday_word,
    is_foreign_to,
    is_spanish_word,
    max_edits,
    snowball,
    stem,
    words_of,
)
from knowledge.service_areas import state_name
from knowledge.text import fold

# Filler too common to tell a one-word phrase's sense on its own.
WEAK_FILLER = frozenset(
    "my mi mis our your tu su sus the a an el la los las de del al en y of to in and".split()
)
STEM_FACTOR = 0.85  # "funding" for "fund": a little less sure than the word itself
FUZZY_PENALTY = 0.12  # per edit
TERMS_CACHE_SIZE = 50_000
AGENT_ENDINGS = ("er", "ers")  # English: who does a thing ("employer")


@dataclass(slots=True)
class QueryWord:
    """One word of a query as the index reads it."""

    text: str  # as corrected
    form: str  # form(text), for finding phrases
    quality: float  # 1.0 when typed as the index knows it, less when corrected
    # "stop" (filler), "minor" (numbers, single letters), "known", "story" (an everyday word
    # the index does not know: part of the story, not the need) or "unknown" (gibberish)
    role: str
    # The concepts the phrase this word is part of names: one need, whichever of them meets it
    # ("custody" is family law or legal aid); empty outside a phrase.
    need: frozenset[str] = frozenset()

    @property
    def in_phrase(self) -> bool:
        return bool(self.need)

    @classmethod
    def of(cls, text: str, quality: float, role: str) -> QueryWord:
        return cls(text, form(text), quality, role)


class QuestionReader(IndexTables):
    """The reading half of the search index (SearchIndex sets these up and builds the tables)."""

    lexicon: Lexicon
    gazetteer: Gazetteer | None
    _terms_cache: dict[str, list[tuple[int, float]]]

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
        self._tag_from_siblings(documents)

    def _tag_from_siblings(self, documents: list[Document]) -> None:
        """A service named as its place ("Peoria Peoria Friendship House", its location's
        name too) and naming no need does what every other service of its organization does
        (immigration help, for The Immigration Project), when they agree on it."""
        plain = {c.id for c in self.lexicon.concepts if c.broad or c.group}
        by_organization: dict[str, list[Document]] = defaultdict(list)
        for doc in documents:
            if doc.kind == "service" and doc.organization_id:
                by_organization[doc.organization_id].append(doc)
        for services in by_organization.values():
            unnamed = [
                d
                for d in services
                if not d.concepts - plain and fold(d.title) in map(fold, d.place_names[1:])
            ]
            named = [d.concepts - plain for d in services if d.concepts - plain]
            if not unnamed or len(named) < 2:
                continue
            shared = frozenset.intersection(*named)
            for doc in unnamed:
                doc.concepts = doc.concepts | shared

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
            # ...but who does a thing is not the thing: an "Employer hotline" is no
            # employment service, though Snowball makes both "employ"
            if known is not None and not (
                language == "en"
                and word.endswith(AGENT_ENDINGS)
                and not known.endswith(AGENT_ENDINGS)
            ):
                return QueryWord.of(known, 1.0, "known")
        return QueryWord.of(word, 1.0, "known")

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
        # Another form of a lexicon word, if of its language ("called" is not "calle").
        if word not in self.vocabulary and stem(word) in self.lexicon_by_stem:
            stemmed = self.lexicon_by_stem[stem(word)]
            if not is_foreign_to(
                word, self.lexicon_languages.get(stemmed, frozenset())
            ) and _one_snowball_stem(word, stemmed):
                return QueryWord.of(stemmed, STEM_FACTOR, "known")
        if word not in self.vocabulary:
            for language in ("es", "en"):
                known = self.lexicon_by_snowball.get((language, snowball(word, language)))
                if known is not None and not is_foreign_to(word, frozenset({language})):
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
        if found is not None and (not common or self._likely_typo_of(word, found[0])):
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

    def _likely_typo_of(self, word: str, need_word: str) -> bool:
        """Whether an everyday `word` one edit from `need_word` was meant as it ("shoots for
        school" are shots): a need word of its language, said alone (not the "green" of "green
        card", nor the "back" of "get my kids back"), and commoner ("tenía" is no "tenis",
        "spray" no "spay"), and not the need word with a letter after it: that makes another
        word ("programa residencial" is no "residencia", a green card)."""
        return (
            not word.startswith(need_word)
            and not is_foreign_to(word, self.lexicon_languages.get(need_word, frozenset()))
            and any(not phrase.filler for phrase in self.phrases.get((form(need_word),), ()))
            and how_common(need_word) > how_common(word)
        )

    def find_concepts(
        self, words: list[QueryWord], tagging: bool = False
    ) -> tuple[dict[str, float], dict[str, int]]:
        """Concepts the phrases in `words` name (with confidence), and language evidence.

        Phrases are found by their content words, longest first, left to right; of the phrases
        with the same content words, those sharing the most filler with the question win ("no
        tenemos dónde dormir" is shelter's "no tengo dónde dormir", not "no puedo dormir").
        Words that make up a phrase are marked with its concepts (`need`). `tagging` a
        service's own words, phrases that are only ways of asking (Concept.asked_only) name
        nothing.
        """
        concepts: dict[str, float] = {}
        evidence: dict[str, int] = defaultdict(int)
        content = [i for i, w in enumerate(words) if w.role != "stop"]
        k = 0
        while k < len(content):
            for size in range(min(self.longest_phrase, len(content) - k), 0, -1):
                span = content[k : k + size]
                quality = min(words[i].quality for i in span)
                options = self.phrases.get(tuple(words[i].form for i in span), [])
                if tagging:
                    options = [phrase for phrase in options if not phrase.asked_only]
                elif not options:  # other forms of its words ("cambió la chapa")
                    options = self._phrases_by_stem([words[i].text for i in span])
                    quality *= STEM_FACTOR
                chosen = self._best_phrases(options, words, span)
                if chosen:
                    for phrase in chosen:
                        concepts[phrase.concept] = max(concepts.get(phrase.concept, 0.0), quality)
                        evidence[phrase.language] += size
                    need = frozenset(phrase.concept for phrase in chosen)
                    for i in span:
                        words[i].need = need
                    k += size
                    break
            else:
                k += 1
        return concepts, evidence

    def _phrases_by_stem(self, span: list[str]) -> list[Phrase]:
        for language in ("es", "en"):
            found = self.phrases_by_stem.get((language, tuple(snowball(w, language) for w in span)))
            if found:
                return found
        return []

    @staticmethod
    def _best_phrases(
        options: list[Phrase], words: list[QueryWord], span: list[int]
    ) -> list[Phrase]:
        """The phrases whose filler the question has most of: the largest share of it first
        ("doctor", which has none to miss, over "need a doctor now"), then the most words."""
        best: list[Phrase] = []
        best_rank = (0.0, 0)
        for phrase in options:
            reach = len(phrase.filler) + 1  # its filler may sit this many words either side
            around = {w.text for w in words[max(0, span[0] - reach) : span[-1] + reach + 1]}
            shared = len(phrase.filler & around)
            # ...and more of it than "my": "give back my deposit" is no "get my kids back"
            telling = phrase.filler - WEAK_FILLER or phrase.filler
            if phrase.needs_filler and not telling & around:
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

    def read_place(self, raw: list[str]) -> tuple[Place | None, list[str]]:
        """The place a question names, if any, and the question's other words (less the
        name of a building of the directory's, which says where, not what)."""
        if self.gazetteer is None:
            return None, raw
        found = self.gazetteer.find(
            raw, self.states, self.place_shadowed, self._town_needs_cue, self.title_words
        )
        if found is None:
            return self._programme_state(raw), self._without_sites(raw)
        place, used = found
        return place, self._without_sites([w for i, w in enumerate(raw) if i not in used])

    def _without_sites(self, raw: list[str]) -> list[str]:
        """`raw` less the word pairs naming one of the directory's buildings."""
        named = set()
        for i in range(len(raw) - 1):
            if (raw[i], raw[i + 1]) in self.site_names:
                named |= {i, i + 1}
        return [w for i, w in enumerate(raw) if i not in named] if named else raw

    def _town_needs_cue(self, town: str, words: Sequence[str]) -> bool:
        """Whether a small town is only read as one when pointed at ("in caliente"): its name
        is everyday words and none of the directory's services is there, nor, for a name of
        several words, in or serving its county ("order of protection Oak Park": a suburb among the
        directory's; one everyday word, "justice" or "worth", is not enough for that). Spanish
        words too: "no nos deja ver a los nietos" is the grandchildren, not Los Nietos, CA."""
        if not all(
            is_everyday_word(w) or is_spanish_word(w) or w in self.lexicon_words for w in words
        ):
            return False
        for state in self.states:
            if f"in:town:{town}|{state}" in self.place_docs:
                return False
        if len(words) > 1 and self.gazetteer is not None:
            for state in self.states:
                place = self.gazetteer.town_place(town, [state])
                if (
                    place is not None
                    and place.state == state
                    and place.county
                    and any(
                        f"{part}:county:{place.county}|{state}" in self.place_docs
                        for part in ("in", "area")  # ...or serving it: "Camp Point", Adams
                    )
                ):
                    return False
        return True

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


def _one_snowball_stem(word: str, other: str) -> bool:
    """Whether Snowball, which knows English and Spanish endings, agrees that two words are
    forms of one ("evicted", "eviction"), where the light stemmer may not ("showing", "shower")."""
    return any(snowball(word, language) == snowball(other, language) for language in ("en", "es"))


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
