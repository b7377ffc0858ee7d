"""Tokens for BM25: lower case, accents folded ("Lachín" -> "lachin"), stopwords removed, Snowball-stemmed; a word
split by a soft hyphen at a line end ("Azerbai\ufffejan", from a PDF) is one word."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer
from bm25s.stopwords import STOPWORDS_EN_PLUS

from qa_assistant.models import join_soft_hyphens

STOPWORDS = frozenset(STOPWORDS_EN_PLUS)
# Words that frame a question rather than name its topic ("What did each side say about X?").
QUESTION_STOPWORDS = frozenset(
    "what which who whom whose when where why how did does do each both either side sides party parties "
    "say says said tell told".split()
)
_WORD = re.compile(r"\w+")


_FOLDED: dict[int, str] = {}  # each non-ASCII character met so far: its NFKD decomposition without combining marks


def _fold_character(ch: str) -> str:
    return "".join(part for part in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(part))


def fold_accents(text: str) -> str:
    """NFKD without combining marks ("Türkiye" → "Turkiye"). Character by character, which gives the same as the
    whole text at once: decomposition works per character, and the reordering of combining marks that follows
    only moves marks this drops."""
    if text.isascii():  # nothing to fold (most text)
        return text
    for ch in set(text):
        if ord(ch) > 127 and ord(ch) not in _FOLDED:
            _FOLDED[ord(ch)] = _fold_character(ch)
    return text.translate(_FOLDED)


def words(text: str) -> list[str]:
    """The words of `text`, lower-cased and accent-folded: what BM25 tokens are made of."""
    return _WORD.findall(fold_accents(join_soft_hyphens(text)).lower())


def question_words(question: str) -> list[str]:
    """The words of a question without those that frame it ("what did … say"): what is sent to a search engine
    that analyzes text itself (Milvus), as `tokenize(question, query=True)` is searched locally."""
    return [word for word in words(question) if word not in QUESTION_STOPWORDS]


def normalize(text: str) -> str:
    """Words only, lower-cased and accent-folded: equal for texts that differ in case, accents, punctuation, quotes."""
    return " ".join(words(text))


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def tokenize(text: str, *, query: bool = False) -> list[str]:
    """BM25 tokens of `text`; `query=True` also drops question-framing words."""
    stop = STOPWORDS | QUESTION_STOPWORDS if query else STOPWORDS
    return _stemmer().stemWords([w for w in words(text) if w not in stop])


def written_words(text: str) -> list[str]:
    """Each word of `text` as written (soft hyphens joined): the words `word_tokens` gives the tokens of."""
    return _WORD.findall(join_soft_hyphens(text))


def word_tokens(text: str, *, query: bool = False) -> list[tuple[str, list[str]]]:
    """Each word of `text` as written (soft hyphens joined), with its BM25 tokens (none for a stopword); together
    the same tokens as `tokenize(text, query=query)`."""
    return [(word, tokenize(word, query=query)) for word in written_words(text)]
