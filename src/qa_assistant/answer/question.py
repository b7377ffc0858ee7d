"""Reading a question, once, into what it asks (`AskedQuestion`): who it asks to hear (sides, speakers, offices), its
period (published in it, or speaking of it), its topic with every name the topic goes by, and what no document
covers (unknown names, absent topic words). The answer builder then retrieves, selects quotes and groups from that
object alone."""

from __future__ import annotations

import dataclasses
import itertools
import re
from dataclasses import dataclass, field

import numpy as np

from qa_assistant.answer.constraints import (
    DateWindow,
    SpeakerNames,
    asked_speaker,
    date_window,
    names_in,
    unknown_names,
    without,
    without_who,
)
from qa_assistant.backends.base import SearchBackend
from qa_assistant.index.store import SentenceIndex
from qa_assistant.models import Filters, Understood
from qa_assistant.text.counts import counted_thing
from qa_assistant.text.tokens import tokenize, written_words

_EACH_SIDE = re.compile(
    r"\b(each|both|all|either|every|the two|different|opposing|two)\s+(side|sides|party|parties|camp|camps)\b",
    re.IGNORECASE,
)
# What a question is about starts here: a side named after it belongs to the topic, not to who is asked.
_ABOUT = re.compile(r"\b(?:about|on|over|regarding|concerning|towards?|against|with)\b", re.IGNORECASE)
_REPORTING = (  # in lower case only: "the United States say" names a side, then says
    r"(?-i:say|says|said|state|states|stated|claim|claims|claimed|declare|declares|declared|report|reports|reported|"
    r"write|writes|wrote|announce|announces|announced|think|thinks|thought|tell|tells|told)"
)
# "What did each side say about X?", "What have Armenia and Azerbaijan stated on X?": who is asked, and the topic X.
_ASKED_ABOUT = re.compile(
    r"^\s*(?:(?:what|how)\s+(?:did|do|does|have|has|had|will|would)\s+)?(?P<who>.+?)\s+"
    rf"{_REPORTING}\s+"
    r"(?:about|on|of|over|regarding|concerning)\s+(?P<topic>.+?)[\s?!.]*$",
    re.IGNORECASE,
)
_REPORTED = re.compile(rf"\b{_REPORTING}\b", re.IGNORECASE)
# A sentence speaks of a period when it, or the sentence before or after it in its paragraph, mentions a date in it.
PERIOD_CONTEXT = 1
# Words that frame a question or measure its topic rather than name it: "How much did … grow?".
FRAME_WORDS = frozenset(
    tokenize(
        "what which who whom whose when where why how much many long far often did does do is are was were has have "
        "had will would can could should may might large big small high low size number amount total say said tell told describe described call called give gave given "
        "make made happen happened grow grew grown increase increased rise rose fall fell change changed get got "
        "become became go went take took show shown mean meant according position view views stance statement "
        "statements reaction response respond responded react reacted think thought"
    )
)


def speaking_part(question: str) -> str:
    """The words of `question` that can name who is asked: those before its reporting verb ("What did India and
    Pakistan say" in "What did India and Pakistan say about Afghanistan?"), else those before what it is about."""
    verb = _REPORTED.search(question)
    if verb:
        return question[: verb.start()]
    about = _ABOUT.search(question)
    return question[: about.start()] if about else question


def sides_asked(question: str, index: SentenceIndex, present_sides: list[str]) -> list[str] | None:
    """The sides a question asks to hear from, or None when it does not ask about sides.

    "each side" / "both sides" / "both parties" ask for every party side in the index; naming two or more sides by
    an alias of `sides.json` or their seat of government before the reporting verb ("What did Armenia and Baku say
    …") asks for those. A side named in the topic ("… say about Afghanistan?") is not asked.
    """
    config = index.sides.sides
    present = {s.lower(): s for s in present_sides}
    named = [name for name in index.sides.sides_mentioned(speaking_part(question)) if name.lower() in present]
    if len(named) >= 2:
        return [present[n.lower()] for n in named]
    if _EACH_SIDE.search(question):
        parties = [present[n.lower()] for n, info in config.items() if info.party and n.lower() in present]
        if not parties:  # no side configuration: every side that is not marked neutral
            parties = [s for s in present_sides if s.lower() not in {"neutral", "press", "unknown"}]
        return parties or None
    return None


def question_topic(question: str, index: SentenceIndex) -> str | None:
    """The topic of a question that asks what the sides said about it, or None.

    "What did each side say about the Lachin corridor?" -> "the Lachin corridor". Only when the asker is the
    sides themselves ("each side", "both parties", two or more sides named): the frame says nothing about
    relevance, and comparing quotes with the whole question would score the frame.
    """
    match = _ASKED_ABOUT.match(question)
    if not match:
        return None
    who, topic = match.group("who"), match.group("topic").strip()
    if not _EACH_SIDE.search(who) and len(index.sides.sides_mentioned(who)) < 2:
        return None
    return topic if re.search(r"\w", topic) else None


@dataclass
class AskedQuestion:
    """What a question asks, read once: everything retrieval, quote selection and grouping need."""

    text: str
    searched: str  # the question without the words of its period
    understood: Understood | None  # what was read, as shown to the user (None: reading was off)
    filters: Filters  # the explicit filters with those read from the question added
    explicit: Filters  # the filters the user set
    inferred: list[str] = field(default_factory=list)  # kinds of filter read from the question: dates, sides…
    focus: str | None = None  # the question without its period and who it asks to hear, once that is a filter
    period: DateWindow | None = None  # a period read from the question: published in it or speaking of it
    sides: list[str] | None = None  # the sides to answer side by side (None: not a question about sides)
    topic: str | None = None  # for a question about what the sides said: its topic
    names: dict[str, list[str]] = field(default_factory=dict)  # each name of the question: all the names it has
    topic_names: list[str] = field(default_factory=list)  # names the quotes should mention (neither who nor unknown)
    variants: list[frozenset[str]] = field(default_factory=list)  # BM25 tokens a sentence on the topic holds (any)
    content_words: frozenset[str] = frozenset()  # the topic's content words, under any of its names
    absent_topic: str | None = None  # the topic's words when no indexed sentence holds any of them
    counted: str | None = None  # what a question asks to count ("How many tanks …" -> "tanks")
    unmatched: tuple[str, ...] = ()  # names no statement within the filters mentions, asked anyway: not searched

    @property
    def query(self) -> str:
        """What is compared with sentences: the topic, else the question without its period (and without who it
        asks to hear, when that became a filter)."""
        return self.topic or self.searched

    @property
    def bm25_query(self) -> str:
        """What BM25 searches: the query and the words of the other names of its names, each once (a long name's
        generic words, "economic region", are left out: they would outweigh the name). A question asked anyway about
        names no statement within the filters mentions searches the rest of it: its words but those names (under
        any of their names) and who it asks to hear, which the filters hold."""
        query = self.query
        if self.unmatched:
            gone = {t for name in self.unmatched for form in self.forms(name) for t in tokenize(form, query=True)}
            query = " ".join(
                word for word in written_words(self.focus or query) if not gone & set(tokenize(word, query=True))
            )
        known = set(tokenize(query, query=True))
        extra: list[str] = []
        unmatched = {name.lower() for name in self.unmatched}
        for key, names in self.names.items():
            if key in unmatched:
                continue
            for name in names[1:]:
                words = tokenize(name, query=True)
                if len(words) <= 2:
                    extra.extend(word for word in words if word not in known and word not in extra)
        return " ".join([query, *extra])

    def shares_a_word(self, words: set[str]) -> bool:
        """Whether a sentence of BM25 tokens `words` shares a content word of the topic (a stem or one that starts
        with it, "forc" in "forcibl"); true when the topic has no content words."""
        if not self.content_words or self.content_words & words:
            return True
        return any(
            len(short) >= 4 and long.startswith(short)
            for word in words
            for topic in self.content_words
            for short, long in (sorted((word, topic), key=len),)
        )

    def forms(self, name: str) -> list[str]:
        return self.names.get(name.lower(), [name])

    @property
    def relaxable(self) -> list[str]:
        """The filters read from the question that an answer may drop when nothing within them is relevant: the
        period and the speaker's office. The side asked is kept: other sides' words do not answer it."""
        return [kind for kind in self.inferred if kind in ("dates", "speakers", "publishers")]

    def relaxed(self, kinds: list[str] | None = None) -> AskedQuestion:
        """The same question without the `relaxable` filters read from it, or those of them in `kinds` (the explicit
        filters stay)."""
        dropped = [kind for kind in self.relaxable if kinds is None or kind in kinds]
        updates: dict[str, object] = {}
        for kind in dropped:
            if kind == "dates":
                updates.update(since=self.explicit.since, until=self.explicit.until)
            else:
                updates[kind] = getattr(self.explicit, kind)
        kept = [kind for kind in self.inferred if kind not in dropped]
        period = None if "dates" in dropped else self.period
        return dataclasses.replace(self, filters=self.filters.model_copy(update=updates), inferred=kept, period=period)


class QuestionReader:
    """What a question asks, read against the sides, names and dates of an index."""

    def __init__(self, index: SentenceIndex, backend: SearchBackend):
        self.index = index
        self.backend = backend
        self.sides_present = sorted(index.labels.side_names)
        self.speakers = sorted(index.labels.speaker_names)
        self.speaker_names = SpeakerNames(self.speakers)  # the words of each, looked up by every question
        self.publishers = sorted({d.publisher for d in index.cards if d.publisher})
        dates = [d.date for d in index.cards if d.date]
        self.newest = max(dates) if dates else None  # "last year" counts from the newest document
        # Names the metadata knows though no text says them: a speech rarely names its own speaker.
        named = [*self.speakers, *self.publishers, *(d.title or "" for d in index.cards)]
        self.metadata_tokens = set(tokenize(" ".join(named)))
        self._speaker_sides: dict[str, set[str]] | None = None

    def known(self, word: str) -> bool:
        """Whether every BM25 token of `word` occurs in some document's text or metadata (speakers, titles)."""
        return all(token in self.metadata_tokens or self.backend.mentions([token]) for token in tokenize(word))

    def speaker_sides(self, speaker: str) -> set[str]:
        """The sides the index attributes to sentences of `speaker`."""
        if self._speaker_sides is None:
            labels = self.index.labels
            known = (labels.speaker >= 0) & (labels.side >= 0)
            width = len(labels.side_names)  # each (speaker, side) pair as one integer: one sort of a flat array
            pairs = np.unique(labels.speaker[known].astype(np.int64) * width + labels.side[known])
            table: dict[str, set[str]] = {}
            for who, side in zip((pairs // width).tolist(), (pairs % width).tolist()):
                table.setdefault(labels.speaker_names[who], set()).add(labels.side_names[side])
            self._speaker_sides = table
        return self._speaker_sides.get(speaker, set())

    def read(self, question: str, filters: Filters, infer: bool = True) -> AskedQuestion:
        """Everything `question` asks. With `infer`, its period and who it asks become filters where no explicit
        filter of the same kind was given."""
        asked = AskedQuestion(text=question, searched=question, understood=None, filters=filters, explicit=filters)
        if infer:
            self._read_constraints(asked)
        present = list(self.sides_present)
        if asked.filters.sides and "sides" not in asked.inferred:
            wanted = {s.lower() for s in asked.filters.sides}
            present = [s for s in present if s.lower() in wanted]
        asked.sides = sides_asked(asked.searched, self.index, present)
        asked.topic = question_topic(asked.searched, self.index) if asked.sides else None
        asked.counted = counted_thing(asked.searched)
        self._read_topic(asked)
        if asked.understood is not None:
            asked.understood.names_searched = {names[0]: names[1:] for names in asked.names.values() if len(names) > 1}
            asked.understood.inferred = list(asked.inferred)
        return asked

    def _read_constraints(self, asked: AskedQuestion) -> None:
        """The period and the speaker written in the question, as filters; names no document mentions."""
        question, filters = asked.text, asked.explicit
        understood = Understood(searched=question)
        updates: dict[str, object] = {}
        window = date_window(question, self.newest)
        if window is not None:
            understood.period, understood.since, understood.until = window.words, window.since, window.until
            understood.searched = without(question, window.start, window.end) or question
            if filters.since or filters.until:
                understood.overridden.append("dates")
            else:
                updates.update(since=window.since, until=window.until)
                asked.period = window
                understood.speaks_of_period = True
        asked.searched = understood.searched
        found = asked_speaker(question, self.index.sides, self.speaker_names, self.publishers, self.speaker_sides)
        if found is not None:
            understood.who = found.words
            understood.speakers, understood.publishers = found.speakers, found.publishers
            understood.office_not_found = found.office_not_found
            if len(found.sides) == 1:  # two or more sides named: a question about sides, answered side by side
                understood.sides = found.sides
                if filters.sides:
                    understood.overridden.append("sides")
                else:
                    updates["sides"] = found.sides
            for kind in ("speakers", "publishers"):
                if getattr(found, kind):
                    if getattr(filters, kind):
                        understood.overridden.append(kind)
                    else:
                        updates[kind] = getattr(found, kind)
        understood.unknown_names = unknown_names(
            understood.searched, self.known, lambda name: bool(self.index.sides.sides_mentioned(name))
        )
        if found is not None and {"sides", "speakers", "publishers"} & set(updates) and len(found.sides) <= 1:
            asked.focus = without_who(asked.searched) or None
        asked.understood = understood
        asked.inferred = [("dates" if kind in ("since", "until") else kind) for kind in updates]
        asked.inferred = list(dict.fromkeys(asked.inferred))
        asked.filters = filters.model_copy(update=updates)

    def _read_topic(self, asked: AskedQuestion) -> None:
        """The names of the question with their alternatives, the names quotes should mention, the token sets a
        sentence on the topic holds, and whether any topic word occurs in the collection at all."""
        config = self.index.sides
        who_words = speaking_part(asked.query) + " " + (asked.understood.who or "" if asked.understood else "")
        who_tokens = set(tokenize(who_words))
        asked.names = {  # the names of what is asked about, not of who is asked ("Artsakh's defence ministry")
            written: [_as_written(asked.query, written), *names[1:]]
            for written, names in config.alternatives_in(asked.query)
            if asked.topic or not set(tokenize(written)) <= who_tokens
        }
        understood = asked.understood
        if understood is not None:
            who = set(tokenize(understood.who or ""))
            asked_sides = {side.lower() for side in [*(asked.sides or []), *understood.sides]}
            asked.topic_names = [
                name
                for name in names_in(understood.searched)
                if name not in understood.unknown_names
                and not {side.lower() for side in config.sides_mentioned(name)} & asked_sides
                and not set(tokenize(name)) <= who
            ]
            for name in asked.topic_names:
                for written, names in config.alternatives_in(name):
                    asked.names.setdefault(name.lower(), names if written == name.lower() else [name])
        side_words = set(tokenize(" ".join(config.aliases_in(who_words))))
        words = tokenize(asked.query, query=True)
        if not asked.topic:  # a question's own words: without who is asked and the words that frame it
            words = [w for w in words if w not in side_words and w not in FRAME_WORDS]
        asked.variants = _variants(frozenset(words), asked.names.values())
        asked.content_words = frozenset(w for variant in asked.variants for w in variant)
        known = [w for w in words if w in self.metadata_tokens or self.backend.mentions([w])]
        if words and not known and not asked.names:  # none of the topic's own words occurs in any document
            asked.absent_topic = _written(asked.query, set(words))

    def speaking_of(self, window: DateWindow) -> np.ndarray:
        """Which sentences speak of a date inside `window`: the sentence, or one next to it in its paragraph,
        mentions a date, days, a month or a year that lies inside it (`dates.date_mentions`)."""
        doc_of, first, last, start, end, para_start, para_end = self.index.dates_spoken_of().columns()
        inside = np.ones(len(first), dtype=bool)
        if window.since is not None:
            inside &= first >= window.since.toordinal()
        if window.until is not None:
            inside &= last <= window.until.toordinal()
        table = self.index.sentences
        mask = np.zeros(len(table.start) + 1, dtype=np.int32)
        if inside.any():  # sentences are in document order, and in text order within one: one range per mention
            shift = np.int64(1) << np.int64(32)
            doc = doc_of[inside] * shift
            starts = table.doc_index.astype(np.int64) * shift + table.start
            ends = table.doc_index.astype(np.int64) * shift + table.end
            low = np.searchsorted(ends, doc + start[inside], side="right") - PERIOD_CONTEXT
            high = np.searchsorted(starts, doc + end[inside], side="left") + PERIOD_CONTEXT
            low = np.maximum(low, np.searchsorted(ends, doc + para_start[inside], side="right"))
            high = np.minimum(high, np.searchsorted(starts, doc + para_end[inside], side="left"))
            keep = high > low
            np.add.at(mask, low[keep], 1)
            np.add.at(mask, high[keep], -1)
        return np.cumsum(mask)[:-1] > 0

    def sides_and_topic(self, question: str, filters: Filters | None = None) -> tuple[list[str] | None, str | None]:
        """The sides a question asks to hear from (None: not a question about sides) and, for a question about
        what the sides said, its topic: what is searched and what quotes are compared with."""
        asked = self.read(question, filters or Filters(), infer=False)
        return asked.sides, asked.topic


def _variants(words: frozenset[str], alternatives: object) -> list[frozenset[str]]:
    """The token sets a sentence on the topic holds: the topic's words, with the words of each of its names
    replaced by those of any other name it has ("western sahara" -> also "moroccan sahara")."""
    choices: list[list[frozenset[str]]] = []
    rest = set(words)
    for names in alternatives:  # type: ignore[attr-defined]
        forms = [frozenset(tokenize(name)) for name in names]
        forms = [form for form in forms if form]
        if not forms:
            continue
        rest -= forms[0]
        choices.append(forms)
    if not choices:
        return [words] if words else []
    found = []
    for combination in itertools.islice(itertools.product(*choices), 64):
        found.append(frozenset(rest).union(*combination))
    return found


def _as_written(question: str, folded: str) -> str:
    """`folded` (a lower-case name found in `question`) as the question writes it: "lachin" -> "Lachin"."""
    pattern = r"\s+".join(re.escape(part) for part in folded.split())
    found = re.search(pattern, question.replace("’", "'"), re.IGNORECASE)
    return found.group() if found else folded


def _written(question: str, words: set[str]) -> str:
    """The run of words of `question` whose tokens are `words` ("sugar exports"), as written."""
    kept = [word for word in re.findall(r"[\w'’-]+", question) if set(tokenize(word)) & words]
    return " ".join(kept)
