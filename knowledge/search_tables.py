"""The search index's tables, built once from the documents (knowledge.search reads them).

Postings by word with their field weights and BM25 normalisation, a deletion index for typos,
the lexicon's phrases by their content words, and the facts results and filters need (ids,
titles, kinds, concept tags, languages, points, opening hours, places), and the filters read
from those facts alone: distance, places (open now and on a day: knowledge.search_hours).
"""

from __future__ import annotations

import math
import re
import struct
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import filterfalse
from zoneinfo import ZoneInfo

import numpy as np

from knowledge.lexicon import Lexicon
from knowledge.places import COUNTY_WORDS, Gazetteer, Place
from knowledge.programmes import programme_names, word_runs
from knowledge.search_documents import Document, names_no_legal_work
from knowledge.search_hours import OpeningHours
from knowledge.search_words import (
    delete_keys,
    form,
    is_everyday_word,
    join_contractions,
    snowball,
    stem,
    words_of,
)
from knowledge.service_areas import read_area, state_code
from knowledge.text import fold
from knowledge.timewords import MONTHS, WEEKDAYS

# Field codes double as weights: a word in the name counts three times one in the description.
BODY, TAG, NAME = 1, 2, 3
SINGLE_STEM = 5  # letters a one-word phrase's stem needs to match other forms of it
STATE_SHARE = 0.02  # of the most-listed state's count, for a state to be the directory's
SHARED = "shared-"  # before the place keys of a service offered at its organization's places
NEAR_KM = 10.0  # "near me", "near 94403": within this, or serving the place
RARE_DETAIL = 3  # documents at most using a word of a building's description (_build_postings)
# Serving the place's whole county, the part of its state it is in ("Southern Illinois"), its
# whole state or the whole country, or being elsewhere in a town's county, against being in
# the town itself.
PLACE_TIERS = {
    "county": 0.9,
    "suburbs": 0.9,
    "region": 0.85,
    "state": 0.8,
    "country": 0.75,
    "nearby": 0.7,
}
# An organization's town, for a service naming none of its own: a tier after the offices in
# the town, as for serving the town's whole county.
SHARED_PLACE = 0.9
# A description saying it serves its whole county, from wherever its office is.
COUNTYWIDE = re.compile(r"\b(?:(?:throughout|across|all over) the county|county-?wide)\b", re.I)
# Elsewhere in a town's county and named for its own town ("Skokie Expungement Desk" for a
# family in Berwyn): after the county's other services, its organization's ones too.
NAMED_ELSEWHERE = 0.5
BRANCH_WORDS = 3  # at most, in the suffix naming a programme's branch ("- South Chicago")
PARTS_OF_TOWN = frozenset(
    {"north", "south", "east", "west", "northwest", "northeast", "southwest", "southeast",
     "central", "downtown", "side", "area"}
)  # fmt: skip
FIELD_WEIGHT = np.array([0.0, BODY, TAG, NAME], dtype=np.float32)
BM25_K1, BM25_B = 1.2, 0.75
LANGUAGE_BOOST = 1.25  # serving the asker's language moves a service up, never in or out
KINDS = ("service", "resource", "material", "event")
PARTNERSHIP_KINDS = [KINDS.index("resource"), KINDS.index("material")]
EARTH_RADIUS_KM = 6371.0088
# Words naming a building, and how Spanish puts them before the name ("el centro Daley").
SITE_WORDS = {"center": "centro", "centre": "centro", "courthouse": "corte", "building": "edificio"}
_MIN_SNOWBALL_STEM = 4  # shorter stems join unrelated words ("cas" for casa and casar)
_INT32 = struct.Struct("=i")  # native byte order, as np.frombuffer(dtype=np.int32) reads it


@dataclass(frozen=True, slots=True)
class Phrase:
    """One way of asking for a concept, as the lexicon gives it."""

    concept: str
    language: str
    filler: frozenset[str]  # its stop-words ("no tengo dónde dormir": no, tengo, donde)
    needs_filler: bool  # one need word plus filler: "after school", "me pega", "child care"
    asked_only: bool = False  # read in questions, never when tagging services (Concept)


class PackedStrings:
    """Strings in one UTF-8 buffer. The documents' ids and titles, kept as they come, would be
    200k small strings scattered through the memory the documents used, and keep most of it from
    going back to the system once the documents are gone."""

    def __init__(self, strings: Iterable[str]) -> None:
        encoded = [s.encode("utf-8") for s in strings]
        self._buffer = b"".join(encoded)
        self._offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(e) for e in encoded], out=self._offsets[1:])

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, index: int) -> str:
        start, end = int(self._offsets[index]), int(self._offsets[index + 1])
        return self._buffer[start:end].decode("utf-8")

    def __iter__(self) -> Iterator[str]:
        return (self[i] for i in range(len(self)))


class IndexTables:
    """The arrays and maps a SearchIndex answers from; SearchIndex builds them in its __init__."""

    lexicon: Lexicon
    gazetteer: Gazetteer | None
    zone: ZoneInfo

    def _build_postings(self, documents: list[Document]) -> None:
        """One posting (document, weight) per distinct word of each document, by word.

        The loop body is C calls only (dict.fromkeys, a map over a defaultdict that numbers new
        words) because it runs for every document. Filler stays in names and keywords ("What is
        a community school?") for breaking ties, and goes from descriptions, where it would be a
        third of the postings and say nothing.
        """
        is_filler = self.lexicon.stopwords.__contains__
        # A new word gets the next number, packed as the four bytes of an int32 already, so a
        # document's words become its terms with one bytes.join.
        numbering: defaultdict[str, bytes] = defaultdict()
        numbering.default_factory = lambda: _INT32.pack(len(numbering))
        number_of = numbering.__getitem__
        # Growing buffers rather than lists of small objects, which would be scattered among
        # the vocabulary's strings and keep memory from going back to the system.
        terms, fields, counts = bytearray(), bytearray(), array("i")
        # A building's name says where, not what: a forms desk at the Evanston Public Library
        # is no library, legal help at the Prairie Council on Aging no senior centre.
        need_words = self.lexicon_words.union(*self.concept_terms.values())
        # ...and of what its building's description says (often the whole organization's),
        # only the rare words: "mah jong" and "woodworking" find Little House, "Tagalog" its
        # peer counselling, where "classes" or "seniors" would find every centre.
        detail_words: list[tuple[int, str]] = []
        for index, doc in enumerate(documents):
            best = dict.fromkeys(filterfalse(is_filler, words_of(doc.body)), BODY)
            for word in words_of(doc.sites):
                if word not in need_words and not is_filler(word):
                    best.setdefault(word, BODY)
            best.update(dict.fromkeys(words_of(doc.tags), TAG))
            best.update(dict.fromkeys(words_of(doc.name), NAME))
            if doc.site_details:
                detail_words += [
                    (index, word)
                    for word in dict.fromkeys(words_of(doc.site_details))
                    if word not in best and word not in need_words and not is_filler(word)
                ]
            terms += b"".join(map(number_of, best))
            fields.extend(best.values())
            counts.append(len(best))
        n = len(documents)
        term_array = np.frombuffer(terms, dtype=np.int32)
        doc_array = np.repeat(np.arange(n, dtype=np.int64), np.frombuffer(counts, dtype=np.int32))
        field_array = np.frombuffer(fields, dtype=np.int8)
        own = len(term_array)  # postings of its own texts (a description's length is theirs)
        if detail_words:
            term_array, doc_array, field_array = self._with_rare_details(
                detail_words, numbering, term_array, doc_array, field_array
            )
        self.words = list(numbering)
        self.vocabulary = {word: term for term, word in enumerate(self.words)}
        numbering.clear()

        # Sorting (term, document, field) packed in one int64 is several times faster than an
        # argsort, and leaves each posting list in document order.
        packed = (term_array.astype(np.int64) << 34) | (doc_array << 2) | field_array
        packed.sort()
        self.posting_docs = ((packed >> 2) & 0xFFFFFFFF).astype(np.int32)
        posting_fields = (packed & 3).astype(np.int8)
        del packed
        frequency = np.bincount(term_array, minlength=len(self.words))
        self.offsets = np.zeros(len(self.words) + 1, dtype=np.int64)
        np.cumsum(frequency, out=self.offsets[1:])
        self.frequency = frequency.astype(np.int32)
        self.idf = np.log1p((n - frequency + 0.5) / (frequency + 0.5)).astype(np.float32)
        # Each posting's weight, ready to multiply by its word's idf: the field's weight, and
        # for descriptions BM25's length normalisation, downwards only (a long text such as a
        # bilingual toolkit page has most common words somewhere in it).
        body_length = np.bincount(doc_array[:own][field_array[:own] == BODY], minlength=n)
        average = max(float(body_length.mean()), 1.0) if n else 1.0
        norm = (BM25_K1 + 1) / (1 + BM25_K1 * (1 - BM25_B + BM25_B * body_length / average))
        body_norm = np.minimum(norm, 1.0).astype(np.float32)
        self.posting_weights = FIELD_WEIGHT[posting_fields]
        body = posting_fields == BODY
        self.posting_weights[body] *= body_norm[self.posting_docs[body]]

    @staticmethod
    def _with_rare_details(
        detail_words: list[tuple[int, str]],
        numbering: defaultdict[str, bytes],
        term_array: np.ndarray,
        doc_array: np.ndarray,
        field_array: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The postings with the description words of `detail_words` (document, word) that at
        most RARE_DETAIL documents use in all, as description words."""
        used = np.bincount(term_array, minlength=len(numbering))  # (words numbered below: 0)
        in_details = Counter(word for _, word in detail_words)
        kept_docs, kept_terms = [], []
        for index, word in detail_words:
            if in_details[word] > RARE_DETAIL:
                continue
            term = _INT32.unpack(numbering[word])[0]
            if term >= len(used) or used[term] + in_details[word] <= RARE_DETAIL:
                kept_docs.append(index)
                kept_terms.append(term)
        extra = len(kept_docs)
        return (
            np.concatenate([term_array, np.array(kept_terms, dtype=np.int32)]),
            np.concatenate([doc_array, np.array(kept_docs, dtype=np.int64)]),
            np.concatenate([field_array, np.full(extra, BODY, dtype=np.int8)]),
        )

    def _build_deletion_index(self) -> None:
        """Every vocabulary word, and it less each one of its letters, hashed (SymSpell's idea):
        a word one edit from a typo shares one of these with it, so correcting against 200k
        words is a few binary searches, not 200k distance computations."""
        by_length: dict[int, list[int]] = defaultdict(list)
        for term, word in enumerate(self.words):
            # What a one-edit correction of a word of five letters or more can lead to.
            if 4 <= len(word) <= 24 and word.isalpha():
                by_length[len(word)].append(term)
        entries: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
        for width, terms in by_length.items():
            letters = np.frombuffer("".join(self.words[t] for t in terms).encode("ascii"), np.uint8)
            entries += delete_keys(letters.reshape(-1, width), np.array(terms, dtype=np.int64))
        self.deletion_index = np.concatenate(entries)
        self.deletion_index.sort()

    def _build_facts(self, documents: list[Document]) -> None:
        """What results and filters need: ids, titles, kinds, tags, languages, places, hours."""
        self.ids = PackedStrings(d.id for d in documents)
        self.titles = PackedStrings(d.title for d in documents)
        self.spanish_titles = {i: d.title_es for i, d in enumerate(documents) if d.title_es}
        code_of_kind = {kind: code for code, kind in enumerate(KINDS)}
        self.kind_of = np.array([code_of_kind[d.kind] for d in documents], dtype=np.int8)
        self.partnership = np.isin(self.kind_of, PARTNERSHIP_KINDS)  # toolkit and materials
        tagged: dict[str, list[int]] = defaultdict(list)
        for doc_index, doc in enumerate(documents):
            for concept in doc.concepts:
                tagged[concept].append(doc_index)
        self.concept_docs = {c: np.array(ix, dtype=np.int32) for c, ix in tagged.items()}
        self.tag_count = np.array([len(d.concepts) for d in documents], dtype=np.int16)
        # Tagged with a need of its own, beyond broad help (legal aid) and groups of people.
        plain = self.broad_concepts | self.group_concepts
        self.specialised = np.array([bool(d.concepts - plain) for d in documents], dtype=bool)
        self.group_count = np.array(
            [len(d.concepts & self.group_concepts) for d in documents], dtype=np.int8
        )
        # The services whose name says who they are for, by that concept ("Free legal services
        # to people with disabilities"): they answer only a question naming it.
        # (one pass over the titles, not one per group: a tenth of the build at 100k services)
        naming: dict[str, list[str]] = defaultdict(list)  # a title word -> the groups it names
        for entry in self.lexicon.concepts:
            for term in entry.terms if entry.named_for else ():
                naming[term].append(entry.id)
        named: dict[str, list[int]] = {group: [] for groups in naming.values() for group in groups}
        titles = array("q")  # (and the titles' hashes, for _build_programmes)
        for doc_index, doc in enumerate(documents):
            title = words_of(doc.title)
            titles.append(hash(" ".join(title)))
            for group in {g for word in naming.keys() & title for g in naming[word]}:
                named[group].append(doc_index)
        self.named_for = {group: np.array(ix, dtype=np.int32) for group, ix in named.items()}
        self._title_keys = np.frombuffer(titles, dtype=np.int64)
        # Seen only after a call, a form or a referral: no answer to "walk in" (None: unsaid).
        self.by_arrangement = np.array([d.walk_in is False for d in documents], dtype=bool)
        # Broad help's services (legal aid): none hands out what a handed_out concept is, so
        # none is tagged with one.
        self.legal_services = np.zeros(len(documents), dtype=bool)
        for concept_id in self.broad_concepts:
            self.legal_services[self.concept_docs.get(concept_id, [])] = True
        # Telling what it does at length, none of it legal work (its legal need read only from
        # a 211 keyword list, "Divorce Counseling" under LEGAL AND CRIMINAL JUSTICE SERVICES):
        # no answer to a family asking for a lawyer.
        self.no_lawyers = np.array([names_no_legal_work(d) for d in documents], dtype=bool)
        for concept_id in self.handed_out & self.concept_docs.keys():
            docs = self.concept_docs[concept_id]
            self.concept_docs[concept_id] = docs[~self.legal_services[docs]]
        self.youngest = np.array([d.ages[0] for d in documents], dtype=np.float32)
        self.oldest = np.array([d.ages[1] for d in documents], dtype=np.float32)
        # What a Spanish question multiplies scores by: LANGUAGE_BOOST where Spanish is spoken.
        speaks_spanish = np.array(["es" in d.languages for d in documents], dtype=bool)
        self.spanish_boost = np.where(speaks_spanish, LANGUAGE_BOOST, 1.0).astype(np.float32)
        # Points in one flat array, document by document, in radians for the haversine.
        self.point_offsets = np.zeros(len(documents) + 1, dtype=np.int64)
        np.cumsum([len(d.points) for d in documents], out=self.point_offsets[1:])
        flat = np.array([p for d in documents for p in d.points], dtype=np.float64).reshape(-1, 2)
        self.point_lat, self.point_lon = np.radians(flat[:, 0]), np.radians(flat[:, 1])
        self.hours = OpeningHours(documents, self.zone, self.gazetteer)

    def _build_phrases(self, lexicon: Lexicon) -> None:
        """The lexicon's phrases, keyed by the forms of their content words (filler left out).

        A phrase that is one need word and filler ("after school", "child care", "me pega",
        "tax help") counts only with some of that filler around the need word: alone, the word
        means something else ("after", "care") or another concept ("comida gratis" is meals).
        """
        stop = lexicon.stopwords
        phrases: dict[tuple[str, ...], list[Phrase]] = defaultdict(list)
        lexicon_words: set[str] = set()
        languages: dict[str, set[str]] = defaultdict(set)  # the languages a word is used in
        for concept in lexicon.concepts:
            for language, texts in concept.phrases.items():
                for text in texts:
                    words = join_contractions(text.split())
                    lexicon_words.update(words)
                    for word in words:
                        languages[word].add(language)
                    key = tuple(form(w) for w in words if w not in stop)
                    if not key:
                        continue
                    filler = frozenset(w for w in words if w in stop)
                    phrase = Phrase(
                        concept.id,
                        language,
                        filler,
                        len(key) == 1 and bool(filler),
                        text in concept.asked_only,
                    )
                    if phrase not in phrases[key]:
                        phrases[key].append(phrase)
        self.phrases = dict(phrases)
        self.group_concepts = frozenset(c.id for c in lexicon.concepts if c.group)
        self.only_concepts = frozenset(c.id for c in lexicon.concepts if c.only)
        self.broad_concepts = frozenset(c.id for c in lexicon.concepts if c.broad)
        self.handed_out = frozenset(c.id for c in lexicon.concepts if c.handed_out)
        # Legal and safety needs: met by services for them, never by a description that
        # mentions them (a senior centre's "divorce" is no divorce lawyer)
        self.legal_needs = frozenset(
            c.id for c in lexicon.concepts if c.within or c.category == "safety-legal"
        )
        # Phrases by their words' Snowball stems, in their own language, for verb forms the
        # lexicon does not list ("cambió la chapa" for "cambiaron la chapa"). One word alone
        # only with a stem of SINGLE_STEM letters (shorter ones join unrelated words: "corte",
        # court, and "cortar", cut, are both "cort"), and not an English activity in -ing.
        by_stem: dict[tuple[str, tuple[str, ...]], list[Phrase]] = defaultdict(list)
        for key, options in self.phrases.items():
            for phrase in options:
                stems = (phrase.language, tuple(snowball(w, phrase.language) for w in key))
                if len(key) == 1 and (
                    len(stems[1][0]) < SINGLE_STEM
                    or (phrase.language == "en" and key[0].endswith("ing"))
                ):
                    continue  # "parenting" is not "parents", nor "housing" a house
                if phrase not in by_stem[stems]:
                    by_stem[stems].append(phrase)
        self.phrases_by_stem = dict(by_stem)
        self.longest_phrase = max((len(key) for key in self.phrases), default=1)
        self.lexicon_words = frozenset(lexicon_words)
        self.lexicon_languages = {word: frozenset(used) for word, used in languages.items()}
        self.lexicon_forms = frozenset(form(w) for w in lexicon_words)
        # "finished" is the lexicon's "finish": a known ending beats any edit distance.
        self.lexicon_by_stem: dict[str, str] = {}
        for word in sorted(lexicon_words - stop, key=lambda w: (len(w), w)):
            self.lexicon_by_stem.setdefault(stem(word), word)
        # "desalojaron" is the lexicon's "desalojar", in the language of the phrase it is in.
        self.lexicon_by_snowball: dict[tuple[str, str], str] = {}
        for concept in lexicon.concepts:
            for language, texts in concept.phrases.items():
                for word in sorted({w for text in texts for w in text.split()} - stop):
                    word_stem = snowball(word, language)
                    if len(word_stem) >= _MIN_SNOWBALL_STEM and word.isalpha():
                        self.lexicon_by_snowball.setdefault((language, word_stem), word)
        # Typos are corrected towards need words, and towards filler ("nesecito" is filler too).
        self.correction_targets = sorted(
            w for w in lexicon_words | stop if len(w) >= 4 and w.isalpha()
        )
        # The words services use for each concept, one per form ("fare", "fares" count once;
        # "clothing" and "clothes", one stem, are two words, each matched with its plural).
        self.concept_terms = {
            c.id: list({form(t): t for t in c.terms}.values()) for c in lexicon.concepts
        }

    def _build_places(self, documents: list[Document]) -> None:
        """Each service's place keys (knowledge.places): where it is, what it serves."""
        self.states: list[str] = []
        self.place_docs: dict[str, np.ndarray] = {}
        if self.gazetteer is None:
            return
        # The directory's states first: an ambiguous town ("Aurora", "Springfield") is its own.
        counts: Counter[str] = Counter()
        for doc in documents:
            for _, state, postal in doc.addresses:
                code = (
                    state_code(state) or self.gazetteer.zips.get((postal or "")[:5], ("",) * 3)[2]
                )
                if code:
                    counts[code] += 1
            for name in doc.areas:
                area = read_area(name)
                if area.state:
                    counts[area.state] += 1
        # A state with a stray listing or two (a sample row, an office across the border) is
        # not where the directory is: its towns would shadow words ("rent deposit", Deposit, NY).
        most = max(counts.values(), default=0)
        self.states = [state for state, n in counts.most_common() if n >= STATE_SHARE * most]
        placed: dict[str, list[int]] = defaultdict(list)
        organization_towns: dict[str, set[str]] = defaultdict(set)
        nowhere: list[int] = []
        # Named for the town it is in ("Skokie Expungement Desk"): there for that town.
        self.named_for_town = np.zeros(len(documents), dtype=bool)
        self.town_named: dict[int, frozenset[str]] = {}  # ...by these words of its name
        for doc_index, doc in enumerate(documents):
            if doc.kind == "service" and (doc.addresses or doc.areas or doc.place_names):
                keys = self.gazetteer.service_keys(
                    doc.addresses,
                    doc.areas,
                    doc.place_names,
                    self.states or [""],
                    own_addresses=not doc.inherited_places,
                )
                if not keys:
                    nowhere.append(doc_index)
                if COUNTYWIDE.search(doc.body):  # "...community centers throughout the county"
                    keys = keys | {
                        "area:county:" + key.removeprefix("in:county:")
                        for key in keys
                        if key.startswith("in:county:")
                    }
                town = _named_for_town(doc.title, keys)
                if town is not None:
                    self.named_for_town[doc_index] = True
                    self.town_named[doc_index] = frozenset(town.split())
                for key in keys:
                    # Its organization's towns are its own less surely than an office's.
                    shared = doc.inherited_places and key.startswith("in:")
                    placed[SHARED + key if shared else key].append(doc_index)
                    if key.startswith("in:") and doc.organization_id:
                        organization_towns[doc.organization_id].add(key)
        # A service that says nothing of where it is (a church's legal clinic with no address)
        # is, less surely, where its organization's other services are: not nowhere, which
        # would drop it from every question naming a town.
        for doc_index in nowhere:
            doc = documents[doc_index]
            towns = organization_towns.get(doc.organization_id) or self.gazetteer.service_keys(
                (), (), ("", *doc.rings_in), self.states or [""], own_addresses=False
            )
            for key in towns:
                placed[SHARED + key].append(doc_index)
        self.place_docs = {key: np.array(ix, dtype=np.int32) for key, ix in placed.items()}
        self._build_sites(documents)
        # ...or for its building ("desk at the Daley Center"), which is in a town too.
        for doc_index, doc in enumerate(documents if self.site_names else ()):
            words = words_of(doc.title)
            sites = self.site_names.intersection(zip(words, words[1:], strict=False))
            if doc.kind == "service" and sites:
                self.named_for_town[doc_index] = True
                self.town_named[doc_index] = frozenset(w for pair in sites for w in pair) - {
                    *SITE_WORDS,
                    *SITE_WORDS.values(),
                }
        # Words the directory or the lexicon uses, and the names of days and months ("ayuda en
        # mayo" is May, not Mayo, MD), are towns only where the directory is.
        self.place_shadowed = (
            self.vocabulary.keys()
            | self.lexicon_words
            | self.lexicon.stopwords
            | {fold(name) for name in (*WEEKDAYS, *MONTHS)}
        )

    def _build_branches(self, documents: list[Document]) -> None:
        """The services that are one programme's branches, each named for its part of a city
        ("Domestic violence program - Pilsen", "... - Austin"): an organization's services of
        one name but for a short suffix of no need's words. By document, its suffix's words and
        its programme (a number)."""
        families: dict[tuple[str, str], list[tuple[int, list[str]]]] = defaultdict(list)
        for doc_index, doc in enumerate(documents):
            base, dash, suffix = doc.title.rpartition(" - ")
            words = words_of(suffix)
            if dash and base and 0 < len(words) <= BRANCH_WORDS:
                families[(doc.organization_id, base)].append((doc_index, words))
        towns = self.gazetteer.towns if self.gazetteer is not None else {}

        def a_part_of_town(words: list[str]) -> bool:
            if any(state in self.states for state in towns.get(" ".join(words), ())):
                return False  # "- Skokie": a town of its own, where the place tiers put it
            # ...and not "- Legal help for seniors", a need
            return all(
                w not in self.lexicon_words or w in towns or w in PARTS_OF_TOWN for w in words
            )

        self.branch_words: dict[int, frozenset[str]] = {}
        self.branch_family: dict[int, int] = {}
        for family, members in enumerate(families.values()):
            branches = [(i, words) for i, words in members if a_part_of_town(words)]
            if len(branches) >= 2:
                for doc_index, words in branches:
                    self.branch_words[doc_index] = frozenset(words)
                    self.branch_family[doc_index] = family
        self.is_branch = np.zeros(len(documents), dtype=bool)
        self.is_branch[list(self.branch_family)] = True

    def _build_programmes(self, documents: list[Document]) -> None:
        """The programmes services' descriptions and their buildings' descriptions name
        (knowledge/programmes.py): only those at most RARE_DETAIL services mention ("Kids in
        the Middle"; not "Peninsula Library System", every library's)."""

        def is_place(words: Sequence[str]) -> bool:  # "redwood city", "san mateo county"
            if self.gazetteer is None:
                return False
            named = " ".join(words[:-1] if words[-1] in COUNTY_WORDS else words)
            return named in self.gazetteer.towns or named in self.gazetteer.counties

        # (as hashes beside documents, in arrays: at 100k services there are about as many
        # names, and dicts of them weighed 60 MB. Python's string hash differs between
        # processes, as an index never leaves the one that built it.)
        keys, docs = array("q"), array("i")
        for index, doc in enumerate(documents):
            if doc.kind != "service":
                continue
            for text in (doc.body, doc.site_details):
                for name in programme_names(text, is_everyday_word):
                    if not is_place(name):
                        keys.append(hash(" ".join(name)))
                        docs.append(index)
        pairs = np.unique(
            np.stack([np.frombuffer(keys, dtype=np.int64), np.frombuffer(docs, dtype=np.int32)]),
            axis=1,
        )  # sorted by name, each (name, service) once
        named, counts = np.unique(pairs[0], return_counts=True)
        # (another service's name is no programme: "The Schaberg Branch is open...")
        rare = np.isin(pairs[0], named[counts <= RARE_DETAIL]) & ~np.isin(
            pairs[0], self._title_keys
        )
        self.programme_keys = pairs[0][rare]
        self.programme_docs = pairs[1][rare].astype(np.int32)
        del self._title_keys

    def _programmes_named(self, words: list[str]) -> np.ndarray:
        """The services whose description names a programme the question names ("Kids in the
        Middle" is the Family Visitation Center's class)."""
        asked = np.array([hash(name) for name in word_runs(words)], dtype=np.int64)
        if not len(asked) or not len(self.programme_keys):
            return np.zeros(0, dtype=np.int32)
        start = np.searchsorted(self.programme_keys, asked, side="left")
        end = np.searchsorted(self.programme_keys, asked, side="right")
        found = [self.programme_docs[a:b] for a, b in zip(start, end, strict=True) if b > a]
        return np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int32)

    def _build_sites(self, documents: list[Document]) -> None:
        """The buildings the directory's places are named for ("Richard J. Daley Center"), as
        word pairs: a family naming one says where, not what ("walk-in custody help at the
        Daley Center" is no criminal records desk that has the building in its name). Only a
        name that is no everyday or need word ("senior center", "health center" are needs) nor
        a town's."""
        self.site_names: set[tuple[str, str]] = set()
        # ...and the words of services' own names ("Public benefits project - Garfield"): a
        # neighbourhood a family names may be the one a service is named for.
        self.title_words = frozenset(w for doc in documents for w in words_of(doc.title))
        towns = self.gazetteer.towns if self.gazetteer is not None else {}
        for doc in documents:
            for name in doc.place_names:
                words = words_of(name)
                for before, building in zip(words, words[1:], strict=False):
                    if (
                        building in SITE_WORDS
                        and before.isalpha()
                        and before not in self.lexicon_words
                        and not is_everyday_word(before)
                        and before not in towns  # "Skokie courthouse" is in Skokie
                    ):
                        self.site_names.add((before, building))
                        self.site_names.add((SITE_WORDS[building], before))  # "centro daley"

    # --- filters on the facts ------------------------------------------------------------

    def _inside(
        self,
        place: Place,
        point: tuple[float, float] | None,
        among: np.ndarray,
        shared: bool,
        asked: frozenset[str] = frozenset(),
    ) -> np.ndarray:
        """How well each document is at `place`: 1 in its town (or, of the documents `among`,
        within NEAR_KM of `point`), less for serving its whole county or state, less again for
        being elsewhere in the town's county (and less again named for another town), 0
        elsewhere. `shared`: the family shared `point`, "near me", and what is elsewhere in the
        county further than NEAR_KM is not near them (a pantry 15 km off in a county of two
        million). `asked`: the question's words, which may name the other town too."""
        tier = np.zeros(len(self.ids), dtype=np.float32)
        for key in place.keys():
            area = key.split(":")[1]
            if key.startswith("in:"):  # elsewhere in a town's county: after the town
                nearby = area == "county" and place.kind != "county"
                weight = PLACE_TIERS["nearby"] if nearby else 1.0
            else:  # serving the whole county is being there for a question about it
                weight = 1.0 if area == place.kind else PLACE_TIERS[area]
                if area == "region" and place.kind == "state":  # in it, as an office is
                    weight = 1.0
            for found, share in ((key, 1.0), (SHARED + key, SHARED_PLACE)):
                docs = self.place_docs.get(found)
                if docs is None:
                    continue
                weights = np.full(len(docs), weight * share, dtype=np.float32)
                if weight == PLACE_TIERS["nearby"]:  # ...and named for another town, after all
                    # (unless the question names it too: "my hearing at the Markham courthouse")
                    flagged = np.flatnonzero(self.named_for_town[docs]).tolist()
                    named = [i for i in flagged if not self.town_named[int(docs[i])] <= asked]
                    weights[named] = NAMED_ELSEWHERE
                tier[docs] = np.maximum(tier[docs], weights)
        if point is not None and len(self.point_lat) and len(among):
            distances = self._distances(among, point)
            tier[among[distances <= NEAR_KM]] = 1.0
            if shared:
                far = among[np.isfinite(distances) & (distances > NEAR_KM)]
                tier[far[tier[far] <= PLACE_TIERS["nearby"] + 1e-6]] = 0.0
        return tier

    def _distances(self, docs: np.ndarray, near: tuple[float, float]) -> np.ndarray:
        """Kilometres from `near` to each document's nearest point; inf if it has none."""
        starts = self.point_offsets[docs]
        counts = self.point_offsets[docs + 1] - starts
        first = np.cumsum(counts) - counts  # where each document's points start below
        points = np.arange(counts.sum()) - np.repeat(first - starts, counts)
        lat, lon = math.radians(near[0]), math.radians(near[1])
        plat, plon = self.point_lat[points], self.point_lon[points]
        h = np.sin((plat - lat) / 2) ** 2
        h += math.cos(lat) * np.cos(plat) * np.sin((plon - lon) / 2) ** 2
        distance = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(h))
        nearest = np.full(len(docs), np.inf)
        placed = counts > 0
        if placed.any():
            nearest[placed] = np.minimum.reduceat(distance, first[placed])
        return nearest


# An organization's office for the area around a town ("Rockford Office - Legal help for
# seniors", "Galesburg Satellite Office", "Redwood City Corps"): named for a town, there for more.
_AREA_UNIT = re.compile(r"^(?: \w+)? (?:office|corps|branch) ")


def _named_for_town(title: str, keys: Iterable[str]) -> str | None:
    """The town a service's name names, of those it is in, unless as its county's namesake
    ("San Mateo Free Medical Clinic") or for an area's office: "Skokie Expungement Desk",
    "Criminal records advice desk at Markham Courthouse", "Free legal help for Chicago
    renters"."""
    words = f" {' '.join(words_of(title))} "
    counties = {key.split(":")[2].split("|")[0] for key in keys if key.startswith("in:county:")}
    for key in keys:
        town = key.removeprefix("in:town:").split("|")[0]
        if key.startswith("in:town:") and town not in counties and f" {town} " in words:
            after = words.split(f" {town} ", 1)[1]
            if not _AREA_UNIT.match(" " + after):
                return town
    return None
