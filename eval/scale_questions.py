"""Questions of every kind users ask of the whole UN collection (1946–2019), for the scale benchmark's `ask` timings:
open questions without a side or date, questions to one side, to two sides or to each side, with a period, and
with a speaker or an office. 25 topics × 5 kinds = 125 distinct questions; no two equal."""

from __future__ import annotations

# (topic, a side that spoke of it, another side, a period in words, an office or person of the first side)
TOPICS = [
    ("the Suez crisis", "Egypt", "United Kingdom", "in 1956", "the Minister for Foreign Affairs of Egypt"),
    ("decolonization", "Ghana", "Portugal", "in the 1960s", "the President of Ghana"),
    ("the Berlin blockade", "United States", "Soviet Union", "in 1949", "the Secretary of State"),
    ("apartheid in South Africa", "Nigeria", "South Africa", "in the 1980s", "the Foreign Minister of Nigeria"),
    ("Kashmir", "India", "Pakistan", "in 1965", "the Prime Minister of India"),
    (
        "the war in Viet Nam",
        "France",
        "United States",
        "between 1965 and 1972",
        "the Minister for Foreign Affairs of France",
    ),
    ("nuclear disarmament", "Japan", "Russian Federation", "in the 1990s", "the Prime Minister of Japan"),
    ("the Palestinian question", "Jordan", "Israel", "in 1967", "the King of Jordan"),
    ("climate change", "Tuvalu", "Maldives", "since 2010", "the Prime Minister of Tuvalu"),
    ("the Falkland Islands", "Argentina", "United Kingdom", "in 1982", "the Foreign Minister of Argentina"),
    ("the Iran-Iraq war", "Iran", "Iraq", "in the 1980s", "the President of Iran"),
    ("the invasion of Kuwait", "Kuwait", "Iraq", "in 1990", "the Emir of Kuwait"),
    ("Namibia's independence", "Angola", "South Africa", "in the 1970s", "the President of Angola"),
    ("the Cuban missile crisis", "Cuba", "United States", "in 1962", "the Prime Minister of Cuba"),
    ("the genocide in Rwanda", "Rwanda", "Belgium", "in 1994", "the President of Rwanda"),
    (
        "the break-up of Yugoslavia",
        "Bosnia and Herzegovina",
        "Croatia",
        "in the 1990s",
        "the President of Bosnia and Herzegovina",
    ),
    (
        "the Korean War",
        "Republic of Korea",
        "China",
        "in 1951",
        "the Minister for Foreign Affairs of the Republic of Korea",
    ),
    ("terrorism after 11 September 2001", "Afghanistan", "Pakistan", "in 2002", "the President of Afghanistan"),
    ("the law of the sea", "Malta", "Chile", "in the 1970s", "the Prime Minister of Malta"),
    ("the Millennium Development Goals", "Brazil", "Mexico", "since 2000", "the President of Brazil"),
    ("the embargo against Cuba", "Cuba", "Mexico", "in the 2000s", "the Minister for Foreign Affairs of Cuba"),
    ("the question of Cyprus", "Cyprus", "Turkey", "in 1974", "the President of Cyprus"),
    ("the Western Sahara", "Morocco", "Algeria", "in the 1970s", "the King of Morocco"),
    ("the HIV/AIDS pandemic", "Botswana", "South Africa", "since 2000", "the President of Botswana"),
    ("the reform of the Security Council", "Germany", "Italy", "since 2005", "the Federal Chancellor of Germany"),
]

KINDS = ("open", "one side", "two sides", "with a period", "with a speaker")


def scale_questions() -> list[tuple[str, str]]:
    """(kind, question) pairs, kinds in turn."""
    asked = []
    for number, (topic, side, other, period, office) in enumerate(TOPICS):
        opening = ("What was said about", "How was", "What did the speakers say about")[number % 3]
        open_question = f"How was {topic} described?" if opening == "How was" else f"{opening} {topic}?"
        asked += [
            ("open", open_question),
            ("one side", f"What did {side} say about {topic}?"),
            ("two sides", f"What did {side} and {other} say about {topic}?"),
            ("with a period", f"What was said about {topic} {period}?"),
            ("with a speaker", f"What did {office} say about {topic}?"),
        ]
    assert len({q for _, q in asked}) == len(asked)
    return asked
