"""Sides in any collection: aliases derived from the side names, so a corpus needs no hand-written alias list."""

from __future__ import annotations

from qa_assistant.ingest.corpus import load_corpus
from qa_assistant.ingest.sides import SideConfig, derived_aliases

UN_NAMES = [
    "Egypt",
    "Ethiopia",
    "Bolivia (Plurinational State of)",
    "Iran (Islamic Republic of)",
    "United States of America",
    "United Kingdom of Great Britain and Northern Ireland",
    "Russian Federation",
    "Republic of Korea",
    "Democratic People's Republic of Korea",
    "Democratic Republic of the Congo",
    "Congo",
    "Czech Republic",
    "Republic of Moldova",
]


def test_short_forms_of_official_names():
    assert "bolivia" in derived_aliases("Bolivia (Plurinational State of)")
    assert "moldova" in derived_aliases("Republic of Moldova")
    assert {"united states", "usa"} <= derived_aliases("United States of America")
    assert "america" not in derived_aliases("United States of America")  # "Latin America" is not the USA
    assert "czech" in derived_aliases("Czech Republic") and "czechia" in derived_aliases("Czech Republic")


def test_questions_find_sides_by_their_short_names():
    config = SideConfig(sides={name: {} for name in UN_NAMES})
    assert config.sides_mentioned("What did Egypt and Ethiopia say about the Nile dam?") == ["Egypt", "Ethiopia"]
    assert config.sides_mentioned("What did the United States and Russia say?") == [
        "United States of America",
        "Russian Federation",
    ]
    assert config.sides_mentioned("What did North Korea and South Korea say?") == [
        "Republic of Korea",
        "Democratic People's Republic of Korea",
    ]
    assert config.sides_mentioned("What did Iran say about Bolivia?") == [
        "Bolivia (Plurinational State of)",
        "Iran (Islamic Republic of)",
    ]
    assert config.sides_mentioned("What did the Congo say?") == ["Congo"]  # the name itself, not the other Congo
    assert config.sides_mentioned("What did Korea say?") == []  # two sides' short form: neither
    assert config.sides_mentioned("What did Latin America say?") == []


def test_a_corpus_without_sides_json_knows_its_metadata_sides(tmp_path):
    rows = ["file,title,publisher,side,date"]
    for i, name in enumerate(UN_NAMES):
        (tmp_path / f"{i:03d}.txt").write_text(f"The delegation of {name} spoke about water and peace.\n", "utf-8")
        rows.append(f'{i:03d}.txt,Speech {i},United Nations General Assembly,"{name}",2019-09-15')
    (tmp_path / "metadata.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    corpus = load_corpus(tmp_path)
    assert set(corpus.sides.sides) == set(UN_NAMES)
    assert corpus.sides.sides_mentioned("What did Egypt and Ethiopia say about the Nile?") == ["Egypt", "Ethiopia"]


def test_accents_fold_as_the_whole_text_would():
    import unicodedata

    from qa_assistant.text.tokens import fold_accents

    def whole(text: str) -> str:
        return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))

    samples = [
        "Türkiye",
        "Lachín",
        "São Tomé and Príncipe",
        "Côte d’Ivoire",
        "“quoted” — dash",
        "ﬁnance ½ ²",
        "e\u0301 a\u0323\u0302 (combining marks in the text)",
        "Ελλάδα",
        "한국",
        "plain ASCII",
    ]
    for text in samples:
        assert fold_accents(text) == whole(text), text
    assert fold_accents("Türkiye") == "Turkiye" and fold_accents("Côte d’Ivoire") == "Cote d’Ivoire"
