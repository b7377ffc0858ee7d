"""The dates a text speaks of are found where digits and month names are, not by trying the pattern at every
position; what is found must be exactly what the pattern finds, and an index keeps them for its questions."""

from __future__ import annotations

import json
import random
import shutil

import pytest

from qa_assistant import Assistant
from qa_assistant.index.date_mentions import DateMentions
from qa_assistant.index.store import load_index
from qa_assistant.text.dates import SPOKEN_DATE, spoken_dates

PIECES = [
    "12 July 2020",
    "12-14 July",
    "July 15",
    "July 15, 2020",
    "in July",
    "early March",
    "mid- March",
    "mid-March",
    "May 2020",
    "15 May",
    "may",
    "May",
    "2020-09-27",
    "september 28, 2020",
    "28 SEPTEMBER 2020",
    "Sept. 3, 1999",
    "1948",
    "20 per cent",
    "July 4 %",
    "the 1990s",
    "resolution 242 (1967)",
    "Dec.",
    "Declaration",
    "Marshall",
    "in\nJuly",
    "July\n\n2020",
    "on 3  June  2019",
    "31 June 2020",
    "45 July",
    "1 to 3 August",
    "last December",
    "Nov",
    "2019.",
    "(2018)",
    "mid-2019",
    "\n\n",
    " ",
    ", ",
    ". ",
    "the",
    "Assembly",
    "of",
    "in",
    "since",
]


def _text(rng: random.Random) -> str:
    words = [rng.choice(PIECES) for _ in range(rng.randint(0, 60))]
    filler = "The General Assembly reaffirmed its position on the question. " * rng.randint(0, 4)
    return filler + " ".join(words) + (" " + filler if rng.random() < 0.5 else "")


def test_dates_are_found_exactly_as_the_pattern_finds_them():
    rng = random.Random(7)
    for _ in range(400):
        text = _text(rng)
        expected = [(m.span(), m.lastgroup, m.group()) for m in SPOKEN_DATE.finditer(text)]
        assert [(m.span(), m.lastgroup, m.group()) for m in spoken_dates(text)] == expected, text


@pytest.mark.slow
def test_an_index_keeps_the_dates_its_documents_speak_of(seed_index, seed_corpus):
    index = load_index(seed_index, seed_corpus)
    assert index.date_mentions is not None  # read from the index, not from the documents' texts
    found = DateMentions.of_documents(index.documents)
    assert len(found) > 0
    for kept, fresh in zip(index.date_mentions.columns(), found.columns(), strict=True):
        assert kept.tolist() == fresh.tolist()


@pytest.mark.slow
def test_an_index_without_them_finds_them_on_first_use(seed_index, seed_corpus, tmp_path):
    older = tmp_path / "index"
    shutil.copytree(seed_index, older)
    (older / "date_mentions.npz").unlink()  # an index built before they were kept
    manifest = (older / "manifest.json").read_text(encoding="utf-8")
    data = json.loads(manifest)
    data["files"].pop("date_mentions.npz", None)
    (older / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    asked = "What happened in the Tovuz region in July 2020?"
    new, old = Assistant.load(seed_index, corpus_dir=seed_corpus), Assistant.load(older, corpus_dir=seed_corpus)
    assert old.index.date_mentions is None
    a, b = new.ask(asked).model_dump(exclude={"timings"}), old.ask(asked).model_dump(exclude={"timings"})
    assert a == b and any(q["speaks_of_period"] for q in a["quotes"])
