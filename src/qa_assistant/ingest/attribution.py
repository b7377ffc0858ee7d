"""Speaker attribution of reported speech, by rules over the text.

For each sentence of a document, in order:
1. a cue after a closing quotation mark: “…,” said the Azeri Ministry of Defense / “…,” he added;
2. a named speaker before a reporting verb: the Armenian Foreign Ministry said that … / Yerevan has cited …;
3. "according to X" / "as stated by X";
4. a pronoun or definite description with a reporting verb (he stressed, the ministry added, As noted, …),
   or a sentence that is one quotation with no cue: the last speaker named in the document continues;
5. otherwise the publisher speaks.
The speaker's side comes from the side aliases of `sides.json` found in the speaker's name.
"""

from __future__ import annotations

import re

from pydantic import BaseModel

from qa_assistant.ingest.sides import SideConfig
from qa_assistant.models import Document

REPORTING_VERBS = (
    "said says stated states announced announces added adds stressed stresses noted notes emphasized emphasised "
    "emphasizes underlined underlines denounced denounces accused accuses reported reports indicated indicates "
    "warned warns declared declares claimed claims insisted insists reiterated reiterates maintained maintains "
    "elaborated explained explains affirmed affirms confirmed confirms condemned condemns informed informs told "
    "urged urges cited cites highlighted highlights recalled recalls asserted asserts alleged alleges denied denies "
    "argued argues announced pointed"
).split()
_VERB = r"(?:" + "|".join(sorted(set(REPORTING_VERBS), key=len, reverse=True)) + r")"
_AUX = frozenset(
    "has had have also repeatedly previously again once further earlier later already strongly firmly openly then "
    "clearly officially publicly reportedly is was".split()
)
PRONOUNS = frozenset(
    "he she it they ministry minister statement spokesperson spokesman spokeswoman department office government".split()
)
# Lower-case words that may stand inside a speaker's name ("Ministry of the Interior", "self-proclaimed republic").
_NAME_GLUE = frozenset(
    "of the for de self-proclaimed republic side authorities ministry government foreign affairs defense defence "
    "minister spokesperson office army forces press service leadership command embassy president prime interior "
    "presidential aide adviser advisor separatist facto official officials leader secretary chief head commander "
    "envoy representative ombudsman mayor governor resident residents witness witnesses spokesman spokeswoman".split()
)
_SEATED = {"authorities", "officials", "government", "embassy", "leadership"}  # "the authorities in Stepanakert"
# Capitalized words that open a sentence or clause but never a speaker's name.
_NOT_NAMES = {
    "as",
    "in",
    "on",
    "it",
    "this",
    "that",
    "these",
    "those",
    "likewise",
    "similarly",
    "however",
    "moreover",
    "furthermore",
    "also",
    "but",
    "and",
    "then",
    "thus",
    "there",
    "here",
    "we",
    "i",
    "you",
    "our",
    "its",
    "his",
    "her",
    "their",
    "following",
    "after",
    "before",
    "while",
    "when",
    "meanwhile",
    "shortly",
}
# Present-tense forms that double as plural nouns ("Armenian claims about …", "the reports"): they count only
# before that/quote/colon/comma. Forms that are almost never nouns ("says", "insists") count anywhere.
_PRESENT_FORMS = {
    "states",
    "notes",
    "claims",
    "reports",
    "cites",
    "highlights",
    "alleges",
    "adds",
    "informs",
    "underlines",
    "recalls",
    "affirms",
}
_PERSON_TITLES = {
    "president",
    "prime",
    "minister",
    "spokesperson",
    "spokesman",
    "spokeswoman",
    "ambassador",
    "chairman",
    "speaker",
    "deputy",
}
_TOKEN = re.compile(r"[\w’'-]+|[^\w\s]")
_QUOTE_CUE = re.compile(
    rf"[”\"]\s*,?\s*(?:(?P<verb1>{_VERB})\s+(?P<after>[^,.;”\"]+)|(?P<before>[^,.;”\"“]+?)\s+(?:has\s+|had\s+)?(?P<verb2>{_VERB}))\b",
    re.IGNORECASE,
)
_NAMED_VERB = re.compile(rf"\b(?P<verb>{_VERB})\b(?!\s+by\b)")  # lower case: "United States" is no verb
_AFTER_PRESENT = re.compile(r"\s*(?:that\b|[“\"':,]|in a statement\b)")
_BY_CUE = re.compile(rf"\b(?:according to|as (?:{_VERB}) by|(?:{_VERB}) by)\s+(?P<who>[^,.;“”\"]+)", re.IGNORECASE)
# Cheap tests that a sentence may hold a match, run first (most sentences hold none, and trying every verb at every
# word is what makes the searches slow): every match of _BY_CUE holds "by" or "according", found with the same
# flags; every match of _NAMED_VERB is a reporting verb standing as a whole word (a run of \w between \b's).
_BY_HINT = re.compile(r"by|according", re.IGNORECASE)
_WORDS = re.compile(r"\w+")
_VERB_WORDS = frozenset(REPORTING_VERBS)


def may_hold_by_cue(text: str) -> bool:
    return _BY_HINT.search(text) is not None


def may_hold_named_verb(text: str) -> bool:
    return not _VERB_WORDS.isdisjoint(_WORDS.findall(text))


_CONTINUATION = re.compile(
    r"^\s*(?:as (?:noted|stated|said|mentioned)|it (?:was|is) (?:noted|stressed|stated))\b", re.IGNORECASE
)
_DASH_ASIDE = re.compile(r"\s[–—-]\s[^–—\n]{1,80}?\s[–—-]\s")


# A sentence whose text names no speaker speaks with the document's voice: the `speaker` of its metadata, else the
# issuing body that its title names ("Azerbaijan's MFA releases statement …" carried by an agency), else the publisher.
DOCUMENT_VOICE = frozenset({"metadata", "title", "publisher"})
_ISSUES_STATEMENT = re.compile(
    r"^\s*(?P<body>[A-Z][^:;,.!?]{1,80}?)\s+(?:releases|released|issues|issued|publishes|published|makes|made|"
    r"adopts|adopted)\s+(?:an?\s+|the\s+)?(?:joint\s+)?(?:statement|communiqu[eé]|press\s+release|declaration)\b"
)
# "Foreign Ministry: Any steps against …": a headline that opens with the office speaking.
_OFFICE_SAYS = re.compile(
    r"^\s*(?P<body>(?:[A-Z][\w’'-]*\s+){0,4}(?:Ministry|Minister|MFA|MoD|Government|President|Presidency|Office|"
    r"Spokesperson|Spokesman|Spokeswoman))\s*:\s"
)


class Attribution(BaseModel):
    speaker: str | None
    side: str | None
    source: str  # "quote", "named", "according", "continuation", or a DOCUMENT_VOICE: "metadata", "title", "publisher"
    cue_start: int | None = None  # offsets into Document.text
    cue_end: int | None = None
    confidence: float


def _strip_aside(text: str) -> str:
    """Blank out "– officially known as Artsakh –" style asides, keeping offsets."""
    return _DASH_ASIDE.sub(lambda m: " " * len(m.group()), text)


def _name_before(text: str) -> tuple[str | None, bool]:
    """The speaker name that ends `text` (the words before a reporting verb); (name, is_pronoun)."""
    tokens = _TOKEN.findall(text)
    while tokens and tokens[-1].lower() in _AUX:
        tokens.pop()
    if not tokens:
        return None, False
    last = tokens[-1].lower()
    if last in {"he", "she", "it", "they"} or (last in PRONOUNS and len(tokens) >= 2 and tokens[-2].lower() == "the"):
        return last, True
    name: list[str] = []
    for i in range(len(tokens) - 1, -1, -1):
        token = tokens[i]
        seated = token == "in" and name and name[0][0].isupper() and i > 0 and tokens[i - 1].lower() in _SEATED
        if token[0].isupper() or token.lower() in _NAME_GLUE or token.lower() in {"’s", "'s"} or seated:
            name.insert(0, token)
        else:
            break
    while name and name[0].lower() in _NOT_NAMES | {"the", "of", "for", "in"}:
        name.pop(0)
    if not any(t[0].isupper() for t in name):
        return None, False
    if len(name) > 6:  # "… General Assembly President of Azerbaijan Ilham Aliyev": keep from the person's title
        titles = [i for i, t in enumerate(name) if t.lower() in _PERSON_TITLES]
        if titles:
            name = name[titles[0] :] if len(name) - titles[0] <= 6 else name[titles[-1] :]
    return " ".join(name).replace(" ’s", "’s").replace(" 's", "'s"), False


def _name_after(text: str) -> tuple[str | None, bool]:
    """The speaker name that starts `text` (after "said" / "according to")."""
    tokens = _TOKEN.findall(text)
    if tokens and tokens[0].lower() in {"he", "she", "it", "they"}:
        return tokens[0].lower(), True
    if (
        len(tokens) >= 2
        and tokens[0].lower() == "the"
        and tokens[1].lower() in PRONOUNS
        and (len(tokens) == 2 or (tokens[2].lower() not in {"of", "for"} and not tokens[2][0].isupper()))
    ):
        return tokens[1].lower(), True
    name: list[str] = []
    for token in tokens:
        if token[0].isupper() or token.lower() in _NAME_GLUE or token.lower() in {"’s", "'s"}:
            name.append(token)
        else:
            break
    while name and (name[0].lower() in {"the", "of"} or name[0].lower() in _NOT_NAMES):
        name.pop(0)
    while name and name[-1].lower() in {"the", "of", "for"}:
        name.pop()
    if not any(t[0].isupper() for t in name):
        return None, False
    return " ".join(name).replace(" ’s", "’s").replace(" 's", "'s"), False


def _is_whole_quotation(sentence: str) -> bool:
    s = sentence.strip()
    return s[:1] in '“"«' and s.rstrip(".")[-1:] in '”"»'


class SentenceCue(BaseModel):
    name: str | None
    pronoun: bool
    source: str
    cue_start: int
    cue_end: int
    confidence: float
    speakers_in_sentence: int = 1


def _is_only_name(text: str, name: str | None, pronoun: bool) -> bool:
    """Whether `text` (between a closing quote and a verb) is nothing but the speaker's name."""
    if not name:
        return False
    words = [t for t in _TOKEN.findall(text) if t.lower() not in _AUX and t.lower() != "the"]
    return pronoun and len(words) == 1 or " ".join(words).replace(" ’s", "’s").replace(" 's", "'s") == name


def find_cue(sentence: str, publisher: str | None = None) -> SentenceCue | None:
    """The first speaker cue in a sentence (offsets relative to the sentence).

    "according to <publisher>" only says who relays the text, so it names no speaker.
    """
    text = _strip_aside(sentence)
    cues: list[SentenceCue] = []
    for m in _QUOTE_CUE.finditer(text):
        if m.group("verb1"):
            name, pronoun = _name_after(m.group("after"))
        else:
            name, pronoun = _name_before(m.group("before"))
            if not _is_only_name(m.group("before"), name, pronoun):
                continue
        if name:
            after_mark = text[m.start() + 1 : m.end()]  # the cue starts after the closing quotation mark and spaces
            cues.append(
                SentenceCue(
                    name=name,
                    pronoun=pronoun,
                    source="quote",
                    cue_start=m.end() - len(after_mark.lstrip()),
                    cue_end=m.end(),
                    confidence=0.95,
                )
            )
    for m in _NAMED_VERB.finditer(text) if may_hold_named_verb(text) else ():
        if m.group("verb") in _PRESENT_FORMS and not _AFTER_PRESENT.match(text, m.end()):
            continue
        before = text[: m.start()]
        if before.count("“") > before.count("”"):  # the verb is inside a quotation
            continue
        name, pronoun = _name_before(before)
        if name:
            name_start = max(0, before.rfind(name.split()[0]))
            cues.append(
                SentenceCue(
                    name=name, pronoun=pronoun, source="named", cue_start=name_start, cue_end=m.end(), confidence=0.9
                )
            )
    for m in _BY_CUE.finditer(text) if may_hold_by_cue(text) else ():
        name, pronoun = _name_after(m.group("who"))
        if name and not (publisher and name.lower() == publisher.lower()):
            cues.append(
                SentenceCue(
                    name=name,
                    pronoun=pronoun,
                    source="according",
                    cue_start=m.start(),
                    cue_end=m.end(),
                    confidence=0.85,
                )
            )
    if not cues:
        return _continuation_cue(text)
    return _first_speaker(cues)


def _continuation_cue(text: str) -> SentenceCue | None:
    """The cue of a sentence that goes on with the previous one's speaker ("As noted, …", "It was stressed …");
    None if it does not."""
    match = _CONTINUATION.match(text)
    if match:
        return SentenceCue(
            name=None,
            pronoun=True,
            source="continuation",
            cue_start=match.start(),
            cue_end=match.end(),
            confidence=0.8,
        )
    return None


def _first_speaker(cues: list[SentenceCue]) -> SentenceCue:
    """The cue of the sentence's speaker among its `cues`, with how many speakers the sentence names (less
    confident when more than one)."""
    priority = {"quote": 0, "named": 1, "according": 2}
    # The main clause speaks first: prefer the earliest named cue; a quotation cue wins over a verb in the same clause.
    cues.sort(key=lambda c: (c.cue_start if c.source != "quote" else -1, priority[c.source]))
    best = cues[0]
    named = {c.name.lower() for c in cues if c.name and not c.pronoun}
    best.speakers_in_sentence = max(1, len(named))
    if len(named) > 1:
        best.confidence = min(best.confidence, 0.6)
    return best


def issuing_body(title: str | None) -> str | None:
    """The body that a title says issued the statement: "Azerbaijan’s MFA releases statement on …" -> "MFA of
    Azerbaijan", "Foreign Ministry: Any steps …" -> "Foreign Ministry"; None when the title says no such thing."""
    match = _ISSUES_STATEMENT.match(title or "") or _OFFICE_SAYS.match(title or "")
    if not match:
        return None
    body = " ".join(match.group("body").split())
    owner = re.fullmatch(r"(?P<owner>.+?)['’]s\s+(?P<office>.+)", body)
    return f"{owner.group('office')} of {owner.group('owner')}" if owner else body


def document_voice(doc: Document, sides: SideConfig) -> Attribution:
    """Who speaks in a sentence of `doc` whose text names nobody (see DOCUMENT_VOICE)."""
    body = issuing_body(doc.title)
    if doc.speaker:
        speaker, source = doc.speaker, "metadata"
    elif body and body != doc.publisher:
        speaker, source = body, "title"
    else:
        return Attribution(speaker=doc.publisher, side=doc.side, source="publisher", confidence=0.7)
    return Attribution(speaker=speaker, side=sides.side_named_in(speaker) or doc.side, source=source, confidence=0.7)


def attribute_document(doc: Document, spans: list[tuple[int, int]], sides: SideConfig) -> list[Attribution]:
    """One attribution per sentence span of `doc`, in order."""
    result: list[Attribution] = []
    current: Attribution | None = None  # the last speaker named in this document
    publisher = document_voice(doc, sides)
    for start, end in spans:
        sentence = doc.text[start:end]
        cue = find_cue(sentence, doc.publisher)
        attribution = publisher
        if cue is not None and not cue.pronoun and cue.name:
            attribution = Attribution(
                speaker=cue.name,
                side=sides.side_named_in(cue.name),
                source=cue.source,
                cue_start=start + cue.cue_start,
                cue_end=start + cue.cue_end,
                confidence=cue.confidence,
            )
            current = attribution
        elif cue is not None and current is not None:
            attribution = current.model_copy(
                update={
                    "source": "continuation",
                    "cue_start": start + cue.cue_start,
                    "cue_end": start + cue.cue_end,
                    "confidence": 0.8,
                }
            )
        elif cue is None and current is not None and _is_whole_quotation(sentence):
            attribution = current.model_copy(
                update={"source": "continuation", "cue_start": None, "cue_end": None, "confidence": 0.75}
            )
        result.append(attribution)
    return result
