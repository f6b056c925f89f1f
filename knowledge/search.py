"""The search index: services, toolkit resources, sample materials and events, in memory.

How a query is answered:
1. Split the text into folded words (case, accents, punctuation, apostrophes) and read each one:
   filler ("my", "para"), a word the index knows (exactly, or by its stem: "funding" for
   "fund"), or a typo corrected by edit distance against the lexicon's words and the directory's
   vocabulary (rapidfuzz on the lexicon; a deletion index over the directory's words, so a typo
   costs a few binary searches at 100k services instead of a comparison with every document).
   Words of four letters or fewer are never corrected: there every word is one edit from another
   (cena/cama, visa/vita, pebt/debt); an everyday English or Spanish word only towards a need
   word ("shoots" are shots, "stuff" is not "staff"). Reading is knowledge/search_reading.py.
2. Find the lexicon's phrases ("light bill" -> utilities, "lentes" -> vision) by their content
   words, so filler in between doesn't matter ("leche para el bebé" = "leche para bebé"). Each
   names a concept, which scores the services tagged with it and expands to the words such
   services use ("dental", "teeth"...), for directories without our tags.
3. Score the words on numpy arrays with field weights (name > taxonomy/keywords > description)
   and BM25's idf and length normalisation. Words read as a concept then only rank its services,
   and filler only breaks ties between documents something else found.
4. Keep only what clears a confidence threshold: no good match gives nothing, not a guess. A
   question naming a need is answered only by what meets one; one naming none, by what shares
   more than one of its words.
Language, place (the town, what serves its county or state, then the rest of its county),
open-now and distance then shape the list.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.ages import ADULT_AGE, about_a_child, ages_in, an_older_adults_age, asked_ages
from knowledge.lexicon import Lexicon
from knowledge.models import utcnow
from knowledge.places import Gazetteer
from knowledge.search_documents import Document, load_documents
from knowledge.search_reading import QueryWord, QuestionReader
from knowledge.search_tables import EARTH_RADIUS_KM, KINDS, NAME, NEAR_KM, PLACE_TIERS, TAG
from knowledge.search_words import (
    asks_for_a_lawyer,
    asks_to_walk_in,
    is_common_word,
    read_open_day,
    read_open_now,
    same_but_plural,
    without_askers_role,
    without_in_laws,
    words_of,
)
from knowledge.text import short_hash
from knowledge.us_places import us_gazetteer

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
NARROW_FACTOR = 0.9  # per need a service is tagged with beyond those asked about...
NARROW_MAX = 3  # ...counting this many at most
GROUP_FACTOR = 0.7  # for a service for a group of people (seniors...) when none is named
STORY_WORD_SHARE = 0.5  # of a story word's weight towards what a match must cover (_score)
UNKNOWN_WORD_STRENGTH = 2.0  # a word nobody uses still counts against coverage (gibberish)
MIN_SCORE = 1.5  # below this nothing is a good match
MIN_COVERAGE = 0.25  # the best match must cover this share of what was asked
WORDS_ALONE_MATCHED = 2  # of three or more words naming no need, a match has at least this many
RELATIVE_CUTOFF = 0.3  # drop the long tail far below the best match
NAMED_AT_MOST = 20  # documents a name's word may be in for a question using it to name them
PROGRAMME_FIRST = 1.5  # of the best match's score, for the service of a programme named
MAX_QUERY_WORDS = 64  # a pasted essay is not a better question

OLDER_ADULTS = "seniors"  # the concept of services for older adults only
COUNSELING = "counseling"
# An agency counselling among this many other needs (food, shelter, rent; visitation, divorce)
# is no child's counsellor unless one of those is asked about too.
GENERALIST_NEEDS = 3
BRANCH_FACTOR = 0.5  # for a programme's second branch on, named for a part of town not asked
STAFF_TOOLKIT_FIRST = 100.0  # any confident toolkit match above any service, for staff
PLACE_RANK = 10.0  # a tier apart outweighs any difference in how well the need is met
# ...save a tier and a half for each more of the question's needs a service meets: for a
# veteran's lease in Joliet, the statewide military legal network before Joliet's general office
NEED_RANK = 1.5
NEED_NUDGE = 0.1  # ...and a tenth of the best match's score when no place is asked about
GROUP_NUDGE = 0.1  # ...and as much again for being for the group of people asked about


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
    nearby: bool = False  # nothing is in or serves that place: these are elsewhere in its county

    @property
    def matched(self) -> bool:
        return self.total > 0


class SearchIndex(QuestionReader):
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
        self._offered: frozenset[str] | None = None
        self._terms_cache: dict[str, list[tuple[int, float]]] = {}
        self._build_phrases(lexicon)
        self._tag_services(documents)
        self._build_postings(documents)
        self._build_deletion_index()
        self._build_facts(documents)
        self._build_places(documents)
        self._build_programmes(documents)
        self._build_branches(documents)
        is_common_word("warm")  # loads the word lists here, not on a family's first question
        self.build_seconds = time.perf_counter() - started

    # --- building --------------------------------------------------------------------------

    def offered_concepts(self) -> frozenset[str]:
        """The needs a family browsing the categories would find a service for: a button for
        the others would lead to "no match". Worked out once per index, with the search itself.
        """
        if self._offered is None:
            services = frozenset({"service"})
            self._offered = frozenset(
                concept.id
                for concept in self.lexicon.concepts
                if self.search(SearchQuery(concept=concept.id, limit=1, kinds=services)).hits
            )
        return self._offered

    def id_for_hash(self, digest: str) -> str | None:
        if self._ids_by_hash is None:
            self._ids_by_hash = {short_hash(i): i for i in self.ids}
        return self._ids_by_hash.get(digest)

    def _postings(self, term: int) -> tuple[np.ndarray, np.ndarray]:
        start, end = self.offsets[term], self.offsets[term + 1]
        return self.posting_docs[start:end], self.posting_weights[start:end]

    # --- scoring ---------------------------------------------------------------------------

    def _add_word(
        self,
        scores: np.ndarray,
        scratch: np.ndarray,
        word: str,
        share: float,
        matched: np.ndarray | None = None,
        plurals_only: bool = False,
    ) -> float:
        """Add one word's score to every document holding it (the best of its forms there, or
        only its singular and plural), count it in `matched`, and return the most it can give
        (in a name). `scratch` comes and goes back all zeros."""
        terms = self._terms_for(word)
        if plurals_only:
            terms = [(t, f) for t, f in terms if same_but_plural(self.words[t], word)]
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
        self,
        words: list[QueryWord],
        concepts: dict[str, float],
        takes: np.ndarray | None = None,
        translated: bool = False,
    ) -> tuple[np.ndarray, float, np.ndarray, int, np.ndarray, np.ndarray, np.ndarray]:
        """Every document's score, what one matching everything asked would score, the share
        of the question's parts (concepts, other words) each document matches, how many parts
        it has, how many of the needs it names each document meets (a phrase naming several
        concepts is one need, met by any of them), which documents say in their own
        description that they meet a practical need asked about, and which meet a need at
        all (not only serve the group of people asked about). `takes`: the documents serving
        the ages asked about, when the question gives any; `translated`: the question is in
        Spanish, the directory's descriptions (mostly) in English."""
        n = len(self.ids)
        scores = np.zeros(n, dtype=np.float32)
        scratch = np.zeros(n, dtype=np.float32)
        matched = np.zeros(n, dtype=np.float32)
        of_a_concept = np.zeros(n, dtype=bool)
        of_a_group = np.zeros(n, dtype=bool)  # matching a concept that is a group of people
        of_a_need = np.zeros(n, dtype=bool)
        of_a_practical_need = np.zeros(n, dtype=bool)  # rent, tutoring: not legal help
        barred = np.zeros(n, dtype=bool)  # no answer, whatever else it matches
        exclusive: np.ndarray | None = None  # what the question's "only" concepts allow
        covered_by: dict[str, np.ndarray] = {}
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
                # Not the stem's other words: "rent" must not find "Legal help for renters".
                top = self._add_word(
                    expansion, scratch, term_word, CONCEPT_EXPANSION * quality, plurals_only=True
                )
                top_term = max(top_term, top)
            if concept_id in self.handed_out:  # a legal desk held at a supper is no meal
                expansion[self.legal_services] = 0.0
            if top_term:
                scores += 2 * top_term * expansion / (expansion + top_term)
            strength += top_term
            covered = expansion > 0
            if tagged is not None:
                covered[tagged] = True
            matched += covered
            covered_by[concept_id] = covered
            of_a_concept |= covered
            if concept_id in self.group_concepts:
                of_a_group |= covered
            else:
                of_a_need |= covered
                if concept_id not in self.legal_needs:
                    of_a_practical_need |= covered
            if concept_id in self.only_concepts:
                exclusive = covered if exclusive is None else exclusive & covered
        specific = concepts.keys() - self.broad_concepts - self.group_concepts
        if specific:
            # A service specialised in another need answers only as broad help: no answer
            # ("custody lawyer in Madison": not the immigration project serving Wisconsin),
            # unless it is for the group of people asking (an LGBTQ legal service).
            met = np.zeros(n, dtype=bool)
            for concept_id in specific | (concepts.keys() & self.group_concepts):
                met |= covered_by[concept_id]
            barred |= self.specialised & ~met
        if takes is not None:  # the rehab centre for ages 21-60 is no answer for a dad of 65
            of_a_need &= takes
        for concept_id, named in self.named_for.items():
            if concepts and concept_id not in concepts:  # nor, for a wage claim, the
                barred[named] = True  # employment line for people with disabilities
                of_a_need[named] = False
        if concepts.keys() - self.group_concepts and not of_a_need.any():
            # Who a service is for is not what it does: asked for hearing aids for a grandpa
            # where none are listed, a senior centre is no answer. (Where the need has
            # services, a group's own legal help may still be one, after them.)
            barred |= of_a_group
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
        # ...or by the service it names ("what does Rosener House require before my mom can
        # start? physical exam, TB test?" is about Rosener House, not a clinic)
        named = self._named_in(words)
        if concepts:  # a question naming a need is answered by what meets one: "cell phone
            scores[~(of_a_concept | named)] = 0.0  # screen repair" is no client screening unit
        if exclusive is not None:  # a shelter for a cat: not a family's shelter
            scores[~exclusive] = 0.0
        # What is no answer stays none, whatever other words of the question it has (the
        # criminal records "desk" for a child support help desk).
        scores[barred & ~named] = 0.0
        needs_met = np.zeros(n, dtype=np.float32)
        phrased = {word.need & frozenset(concepts) for word in words if word.need & concepts.keys()}
        unphrased = concepts.keys() - {c for need in phrased for c in need}
        for need in [*phrased, *(frozenset({c}) for c in unphrased)]:
            met = np.zeros(n, dtype=bool)
            # "Restraining order" names domestic abuse help and legal aid: the abuse desk meets
            # it, a general legal office only as broad help.
            for concept_id in need - self.broad_concepts or need:
                met |= covered_by[concept_id]
            needs_met += met
        # A description that says it meets a practical need in the family's own words ("Also
        # provides rental assistance" for "help with rent") is an answer, however briefly; a
        # question in Spanish has no words in common with an English one ("ropa para mis
        # hijos": "Provides food, clothing..."), so the need's own words in it are enough.
        says_it_helps = of_a_practical_need & ((phrase_words > 0) | translated)
        return scores, strength, matched / max(parts, 1), parts, needs_met, says_it_helps, of_a_need

    def _named_in(self, words: list[QueryWord]) -> np.ndarray:
        """The documents a question names by a word of their own or their organization's name
        that few others have and that is no need nor everyday word ("Rosener", "CARPLS")."""
        named = np.zeros(len(self.ids), dtype=bool)
        for word in words:
            if word.role != "known" or word.in_phrase or word.text in self.lexicon_words:
                continue
            term = self.vocabulary.get(word.text)
            if term is None or self.frequency[term] > NAMED_AT_MOST or is_common_word(word.text):
                continue
            if self.gazetteer is not None and (  # a place's name ("DuPage"): where, not who
                word.text in self.gazetteer.counties or word.text in self.gazetteer.towns
            ):
                continue
            docs, weights = self._postings(term)
            named[docs[weights >= TAG]] = True  # in a name or keywords, not a description
        named[self._programmes_named([w.text for w in words])] = True  # ...or a programme's
        return named

    def _break_ties_with_filler(self, scores: np.ndarray, words: list[QueryWord]) -> None:
        """Filler the question shares with a document nudges it, if it matched anyway."""
        for word in dict.fromkeys(w.text for w in words if w.role == "stop"):
            term = self.vocabulary.get(word)
            if term is None or self.idf[term] < STOPWORD_MIN_IDF:
                continue
            docs, weights = self._postings(term)
            found = scores[docs] > 0
            scores[docs[found]] += weights[found] * (float(self.idf[term]) * STOPWORD_SHARE)

    def _generalists_counselling(self, concepts: dict[str, float]) -> np.ndarray:
        """The services counselling among several other needs, none of them asked about: a
        grieving nine-year-old is not sent to the Salvation Army corps that also hands out
        food and pays rent, but a child who saw violence at home goes to the visitation
        centre that counsels on it."""
        counselling = self.concept_docs.get(COUNSELING, np.zeros(0, dtype=np.int32))
        others = self.tag_count[counselling] - self.group_count[counselling] - 1
        asked_too = np.zeros(len(counselling), dtype=bool)
        for concept_id in concepts.keys() - self.group_concepts - {COUNSELING}:
            asked_too |= np.isin(counselling, self.concept_docs.get(concept_id, []))
        return counselling[(others >= GENERALIST_NEEDS) & ~asked_too]

    def _one_branch_each(
        self, candidates: np.ndarray, ranked: np.ndarray, told: frozenset[str]
    ) -> None:
        """One branch of a programme in the first results, its best, unless the question names
        another's part of town: "order of protection, Edgewater, Chicago" gets one of the
        clinic's DV branches, then the citywide DV projects, not its Austin, Pilsen and
        downtown branches before them."""
        seen: set[int] = set()
        branches = np.flatnonzero(self.is_branch[candidates])
        for position in branches[np.argsort(-ranked[branches], kind="stable")].tolist():
            doc_index = int(candidates[position])
            family = self.branch_family[doc_index]
            if family in seen and not self.branch_words[doc_index] <= told:
                ranked[position] *= BRANCH_FACTOR
            seen.add(family)

    def _narrowness(self, candidates: np.ndarray, concepts: dict[str, float]) -> np.ndarray:
        """A factor per candidate: 1, less for each need it is tagged with that was not asked
        about. "Legal aid in Peoria" is best answered by Peoria's general legal aid office, not
        its eviction desk, though both say "legal help"."""
        unasked = self.tag_count[candidates].astype(np.float32)
        for concept_id in concepts:
            docs = self.concept_docs.get(concept_id)
            if docs is not None:
                unasked -= np.isin(candidates, docs, assume_unique=True)
        factor = np.float32(NARROW_FACTOR) ** np.minimum(unasked, NARROW_MAX)
        if not self.group_concepts & concepts.keys():
            # A question saying nothing of who asks is best met by what serves everyone:
            # a pension question, not first a second-career programme for older adults.
            factor *= np.float32(GROUP_FACTOR) ** self.group_count[candidates]
        return factor

    def search(self, query: SearchQuery, now: datetime | None = None) -> SearchOutcome:
        found = self._search(query, now)
        timed = query.open_now or query.open_day is not None
        broader = self._broader_needs(found.concepts) - set(found.concepts)
        if query.concept or not broader:
            return found
        # A need nothing at the place meets is answered by the broad help its services are
        # part of: "eviction help rockford", where no eviction desk is listed, by Rockford's
        # legal aid office and self-help centre, not "no match". (Not a category button,
        # which would then promise what is not there, nor "open now" where the need's desk
        # is there but closed: that is the answer.)
        if found.total == 0:  # ...logged as the need asked about, not as legal aid
            if timed and self._search(replace(query, open_now=False, open_day=None), now).total:
                return found
            wider = self._search(query, now, frozenset(broader))
            return replace(wider, concepts=found.concepts)
        if timed:
            return found
        # ...and where a place is asked about and its few answers for the need fit on one
        # page, that help follows them: "divorce, Peoria" gets the unmarried parents' line
        # of every office, then Peoria's own legal aid office and self-help centre.
        placed = found.place is not None or query.near is not None
        if placed and query.offset == 0 and found.total < query.limit:
            shown = {hit.id for hit in found.hits}
            wider = self._search(query, now, frozenset(broader))
            more = [hit for hit in wider.hits if hit.id not in shown]
            hits = [*found.hits, *more][: query.limit]
            return replace(found, hits=hits, total=len(hits))
        return found

    def _broader_needs(self, concepts: list[str]) -> set[str]:
        """The broad help (legal aid) the lexicon says the needs in `concepts` are part of."""
        return {c.within for c in self.lexicon.concepts if c.id in concepts and c.within}

    def _search(
        self, query: SearchQuery, now: datetime | None, broader: frozenset[str] = frozenset()
    ) -> SearchOutcome:
        asked = without_in_laws(without_askers_role(words_of(query.text)))[:MAX_QUERY_WORDS]
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
        # "DCFS is investigating me, I need a lawyer": the lawyer is for the DCFS case, not any
        # legal help; the broad help a named need is part of follows its answers (search()).
        named = [c for c, weight in concepts.items() if weight >= 1.0]  # said, not guessed
        for concept_id in self._broader_needs(named) - broader:
            concepts.pop(concept_id, None)
        if query.concept:
            concepts[query.concept] = 1.0
        for concept_id in broader:
            concepts.setdefault(concept_id, 1.0)
        if OLDER_ADULTS in self.concept_docs and an_older_adults_age(raw):
            concepts.setdefault(OLDER_ADULTS, 1.0)  # "im 72", "mi mamá de 70 años"
        given = ages_in(raw)
        if given and max(given) < ADULT_AGE:  # "my 11 year old is grieving his grandpa": the
            concepts.pop(OLDER_ADULTS, None)  # child is asked for, not the grandfather

        takes: np.ndarray | None = None
        ages = asked_ages(raw)
        if ages:  # "drug rehab for my 16 year old": not the rehab centre for ages 21-60
            takes = np.zeros(len(self.ids), dtype=bool)
            for youngest, oldest in ages:
                takes |= (self.youngest <= oldest) & (self.oldest >= youngest)
        scores, strength, coverage, parts, needs_met, says_it_helps, of_a_need = self._score(
            words, concepts, takes, translated=written_in == "es"
        )
        programme = self._programmes_named(raw)
        if len(programme):  # a programme named is its service, whatever else its words match
            best = max(strength, float(scores.max(initial=0.0)))
            scores[programme] = best * PROGRAMME_FIRST
            coverage[programme] = 1.0
        older = self.concept_docs.get(OLDER_ADULTS)
        if older is not None and OLDER_ADULTS not in concepts and about_a_child(raw):
            scores[older] = 0.0  # a question about a child: not services for older adults
        if takes is not None:
            scores[~takes] = 0.0
        if COUNSELING in concepts and about_a_child(raw):
            scores[self._generalists_counselling(concepts)] = 0.0
        if asks_for_a_lawyer(raw):  # "divorce lawyer": not the centre that counsels on divorce
            scores[self.no_lawyers] = 0.0
        if asks_to_walk_in(asked):  # "walk in bankruptcy help": not the phone-only line
            scores[self.by_arrangement] = 0.0
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
            tier = self._inside(
                place, point, np.flatnonzero(scores > 0), query.near is not None, frozenset(raw)
            )
            scores[tier == 0] = 0.0
            needs = concepts.keys() - self.group_concepts
            if needs and not needs & self.legal_needs and not (of_a_need & (scores > 0)).any():
                # ...and there too, who a service is for is not what it does: no ride to the
                # doctor is listed in Peoria, and its legal office for seniors is no answer
                # (to a will it is: legal help for a group is legal help).
                scores[:] = 0.0

        if not concepts and parts > WORDS_ALONE_MATCHED:
            # Words alone, no need the lexicon knows: a match must have more than one of them
            # ("first time home buyer" is not a clinic at the First Congregational Church).
            scores[coverage * parts < WORDS_ALONE_MATCHED - 1e-6] = 0.0
        top = float(scores.max()) if len(scores) else 0.0
        floor = max(MIN_SCORE, MIN_COVERAGE * strength)
        if concepts:  # meeting one of the needs asked for is enough, however many there are
            floor = min(floor, CONCEPT_TAG_SCORE)
        if tier is None:
            keep = scores >= max(floor, RELATIVE_CUTOFF * top)
        else:  # the long tail is cut within each tier: a place's own legal self-help centre
            # is an answer to "legal help in Effingham County" beside statewide legal aid
            # ...and in the town or its county, a service whose description says it helps
            # with the need counts, however briefly: the Sunnyvale Corps' "also provides
            # rental assistance" for rent help in Sunnyvale
            keep = (scores >= floor) | (
                says_it_helps & (scores > 0) & (tier >= PLACE_TIERS["county"] - 1e-6)
            )
            for level in np.unique(tier[keep]).tolist():
                at_level = keep & (tier == level)
                keep[at_level] = scores[at_level] >= RELATIVE_CUTOFF * float(scores[at_level].max())
        if concepts.keys() - self.group_concepts and keep.any() and not (keep & of_a_need).any():
            # Nothing that would be shown meets a need asked about, only serves who asks: rehab
            # for a father of 63 is no senior legal line (a barely-mentioned "substance abuse"
            # elsewhere kept them in the running). A service the question names stays.
            keep &= self._named_in(words)
        if query.open_day is not None and keep.any():
            keep &= coverage >= float(coverage[keep].max()) - 1e-6
            keep &= self.hours.open_on_day_mask(query.open_day, now or utcnow())
        if query.open_now and keep.any():
            # Keep to the need: only matches as complete as the best one, then those open now
            # ("ocarina lessons open now" is not answered by open swim lessons).
            keep &= coverage >= float(coverage[keep].max()) - 1e-6
            if tier is not None and float(tier[keep].max()) > PLACE_TIERS["nearby"]:
                # ...and in the place asked about: the Skokie desk being closed, the family
                # is told so, not sent to the Markham courthouse's
                keep &= tier > PLACE_TIERS["nearby"] + 1e-6
            keep &= self.hours.open_mask(now or utcnow())
        candidates = np.flatnonzero(keep)
        nearby = tier is not None and bool(
            len(candidates) and tier[candidates].max() <= PLACE_TIERS["nearby"]
        )
        distances: np.ndarray | None = None
        ranked = scores[candidates] * np.sqrt(coverage[candidates])
        if concepts:
            ranked *= self._narrowness(candidates, concepts)
        if self.branch_family:
            self._one_branch_each(candidates, ranked, frozenset(asked))
        if language == "es":
            ranked *= self.spanish_boost[candidates]
        if tier is not None or concepts:
            ranked = ranked / max(float(ranked.max(initial=0)), 1e-9)
            if tier is not None:  # in the town first, then serving its county, then its state
                ranked += tier[candidates] * PLACE_RANK
            # ...and within reach of that, what meets more of the needs named: the county's
            # domestic abuse legal line before the town's general self-help desk; with no
            # place, a nudge (the jailed mothers' project for "mom is in prison, custody").
            ranked += needs_met[candidates] * (NEED_RANK if tier is not None else NEED_NUDGE)
            # Among those, the services of the group of people the question names: a veteran
            # asking for benefits gets the veterans' clinic before the general benefits desks.
            # (Not older adults: a grandmother's age or "abuela" says who asks, not what for.)
            for concept_id in concepts.keys() & self.group_concepts - {OLDER_ADULTS}:
                ranked += GROUP_NUDGE * np.isin(candidates, self.concept_docs.get(concept_id, []))
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
        if len(candidates) > wanted:  # only the page needs sorting, not every match...
            # ...but all the ties at its edge: argpartition would pick any of them, and the
            # next page could show one again ("More results" must never repeat a service).
            edge = np.partition(order_key, wanted - 1)[wanted - 1]
            chosen = np.flatnonzero(order_key <= edge)
        chosen = chosen[np.lexsort((candidates[chosen], order_key[chosen]))][:wanted]
        if nearby and distances is None and place is not None and place.point is not None:
            # Not in the town asked about: how far from it, for the family to judge.
            distances = np.full(len(candidates), np.inf)
            distances[chosen] = self._distances(candidates[chosen], place.point)

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
            nearby=nearby and named_place is not None,
        )


async def build_index(session: AsyncSession, lexicon: Lexicon, zone: ZoneInfo) -> SearchIndex:
    documents = await load_documents(session, (c.id for c in lexicon.concepts))
    gazetteer = await asyncio.to_thread(us_gazetteer)  # once per process
    # In a thread: at 100,000 services the build takes seconds of CPU, and on the event loop it
    # would hold up every reply meanwhile (measured: a 2.5 s stall, 47 ms in a thread).
    return await asyncio.to_thread(SearchIndex, documents, lexicon, zone, gazetteer)
