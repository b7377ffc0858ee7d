"""Tokens for BM25: lower case, accents folded ("Lachín" -> "lachin"), stopwords removed, Snowball-stemmed."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer
from bm25s.stopwords import STOPWORDS_EN_PLUS

STOPWORDS = frozenset(STOPWORDS_EN_PLUS)
# Words that frame a question rather than name its topic ("What did each side say about X?").
QUESTION_STOPWORDS = frozenset(
    "what which who whom whose when where why how did does do each both either side sides party parties "
    "say says said tell told".split()
)
_WORD = re.compile(r"\w+")


def fold_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def normalize(text: str) -> str:
    """Words only, lower-cased and accent-folded: equal for texts that differ in case, accents, punctuation, quotes."""
    return " ".join(_WORD.findall(fold_accents(text).lower()))


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def tokenize(text: str, *, query: bool = False) -> list[str]:
    """BM25 tokens of `text`; `query=True` also drops question-framing words."""
    words = _WORD.findall(fold_accents(text).lower())
    stop = STOPWORDS | QUESTION_STOPWORDS if query else STOPWORDS
    return _stemmer().stemWords([w for w in words if w not in stop])
