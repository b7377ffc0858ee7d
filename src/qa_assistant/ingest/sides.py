"""Sides: which sides exist and which words and publishers point to them (`sides.json`), the seats of government
that name them in a question, and the alternative names of the places and things they speak of."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from urllib.parse import urlparse

from pydantic import BaseModel, Field, PrivateAttr

# Official long forms: "Republic of Moldova" -> "moldova", "Iran (Islamic Republic of)" -> "iran".
_OFFICIAL_PREFIX = re.compile(
    r"^(?:(?:federal|islamic|democratic|people's|socialist|arab|plurinational|bolivarian|co-operative|cooperative|"
    r"independent|hashemite|grand\s+duchy|union)\s+)*(?:republic|kingdom|state|states|federation|principality|"
    r"sultanate|commonwealth|emirate|duchy)\s+of\s+(?:the\s+)?"
)
_OFFICIAL_SUFFIX = re.compile(r"\s+(?:arab\s+)?(?:republic|federation)$")
_ANY_WORD = re.compile(r"\w")
# Short forms that no rule gives: the long official names of the United Nations and the names people use.
COMMON_SHORT_FORMS = {
    "united states of america": ["united states", "usa", "u.s."],
    "united kingdom of great britain and northern ireland": ["united kingdom", "uk", "britain", "great britain"],
    "russian federation": ["russia"],
    "syrian arab republic": ["syria"],
    "lao people's democratic republic": ["laos"],
    "viet nam": ["vietnam"],
    "türkiye": ["turkey"],
    "turkey": ["türkiye"],
    "republic of korea": ["south korea"],
    "democratic people's republic of korea": ["north korea", "dprk"],
    "united republic of tanzania": ["tanzania"],
    "state of palestine": ["palestine"],
    "holy see": ["vatican"],
    "czechia": ["czech republic"],
    "czech republic": ["czechia"],
    "myanmar": ["burma"],
    "côte d'ivoire": ["ivory coast", "cote d'ivoire"],
    "cabo verde": ["cape verde"],
    "eswatini": ["swaziland"],
    "north macedonia": ["macedonia"],
    "timor-leste": ["east timor"],
    "brunei darussalam": ["brunei"],
    "micronesia (federated states of)": ["micronesia"],
    "union of soviet socialist republics": ["soviet union", "ussr"],
}


def derived_aliases(name: str) -> set[str]:
    """Short forms of a side's name a question may use: case-folded, with and without "the", without a bracketed or
    trailing official part ("Bolivia (Plurinational State of)", "Korea, Republic of"), without an official prefix
    or suffix ("Republic of Moldova", "Czech Republic"), and the COMMON_SHORT_FORMS of United Nations names."""
    folded = " ".join(name.lower().replace("’", "'").split())
    base = re.sub(r"\s*\(.*?\)\s*", " ", folded).strip()
    forms = {folded, base, base.split(",")[0].strip()}
    forms |= {re.sub(r"^the\s+", "", form) for form in list(forms)}
    forms |= {_OFFICIAL_PREFIX.sub("", form) for form in list(forms)}
    forms |= {_OFFICIAL_SUFFIX.sub("", form) for form in list(forms)}
    for form in list(forms):
        forms.update(COMMON_SHORT_FORMS.get(form, []))
    return {form for form in forms if _ANY_WORD.search(form)}


@lru_cache(maxsize=1)
def capitals() -> dict[str, list[str]]:
    """The seats of government of the United Nations member and observer states (package data `capitals.json`), by
    the state's short name."""
    data = json.loads(resources.files("qa_assistant").joinpath("data/capitals.json").read_text(encoding="utf-8"))
    return {state: list(places) for state, places in data["capitals"].items()}


class AlternativeNames(BaseModel):
    """One place or thing and the names the sides (or the years) give it, with where that naming is documented."""

    names: list[str] = Field(min_length=2, description="every name of it, e.g. Stepanakert and Khankendi")
    source: str = Field(min_length=1, description="where the names come from (UN terminology, government usage, …)")


@lru_cache(maxsize=1)
def bundled_alternative_names() -> tuple[AlternativeNames, ...]:
    """The table of contested and alternative names shipped as package data (`alternative_names.json`)."""
    text = resources.files("qa_assistant").joinpath("data/alternative_names.json").read_text(encoding="utf-8")
    return tuple(AlternativeNames.model_validate(entry) for entry in json.loads(text)["names"])


def _folded(text: str) -> str:
    return " ".join(text.lower().replace("’", "'").split())


class SideInfo(BaseModel):
    party: bool = True
    aliases: list[str] = Field(
        default_factory=list, description="words that point to this side, in questions and speaker names"
    )
    publishers: list[str] = Field(
        default_factory=list, description="publisher names or web domains that belong to this side"
    )


class SideConfig(BaseModel):
    """Which sides exist and which words and publishers point to them (`sides.json`)."""

    description: str = ""
    sides: dict[str, SideInfo] = Field(default_factory=dict)
    alternative_names: list[AlternativeNames] = Field(
        default_factory=list,
        description="this collection's own alternative names, added to the bundled table (alternative_names.json)",
    )

    def side_of_publisher(self, publisher: str | None, url: str | None = None) -> str | None:
        """The side a publisher name, or the domain of a URL, is mapped to."""
        domain = urlparse(url).hostname if url else None
        for name, info in self.sides.items():
            for entry in info.publishers:
                entry = entry.lower()
                if publisher and publisher.strip().lower() == entry:
                    return name
                if domain and (domain == entry or domain.endswith("." + entry)):
                    return name
        return None

    _matcher: tuple[re.Pattern[str], dict[str, list[str]]] | None = PrivateAttr(None)

    def with_sides(self, names: Iterable[str]) -> SideConfig:
        """This configuration plus every side in `names` it lacks (the sides of metadata.csv), as a party with no
        aliases of its own: its name's short forms still find it in a question."""
        known = {name.lower() for name in self.sides}
        missing = {name for name in names if name.lower() not in known}
        if not missing:
            return self
        added = {name: SideInfo() for name in sorted(missing)}
        return SideConfig(
            description=self.description, sides={**self.sides, **added}, alternative_names=self.alternative_names
        )

    _names_of: dict[str, list[str]] | None = PrivateAttr(None)
    _question_matcher: tuple[re.Pattern[str], dict[str, list[str]]] | None = PrivateAttr(None)

    def names_of(self, name: str) -> list[str]:
        """Every name of the place or thing `name` names (itself first): "Stepanakert" -> Stepanakert, Khankendi,
        …, from the bundled table and this collection's `alternative_names`; [name] when it has no other."""
        if self._names_of is None:
            table: dict[str, list[str]] = {}
            for entry in [*bundled_alternative_names(), *self.alternative_names]:
                for one in entry.names:
                    known = table.setdefault(_folded(one), [])
                    known.extend(other for other in entry.names if other not in known)
            self._names_of = table
        others = self._names_of.get(_folded(name), [])
        return [name, *(other for other in others if _folded(other) != _folded(name))]

    _things: re.Pattern[str] | None = PrivateAttr(None)

    def alternatives_in(self, text: str) -> list[tuple[str, list[str]]]:
        """Each name in `text` (whole words, any case) that the alternative-names table knows, as written there
        (lower case), with every name of the same place or thing: [("stepanakert", ["stepanakert", "Khankendi",
        …])]. The longest name wins where two start together ("Nagorno-Karabakh", not "Karabakh")."""
        self.names_of("")  # builds the table
        table = self._names_of or {}
        if self._things is None:
            ordered = sorted(table, key=len, reverse=True)
            self._things = re.compile(
                r"(?<!\w)(?:" + "|".join(re.escape(name) for name in ordered) + r")(?!\w)" if ordered else r"(?!x)x"
            )
        found: list[tuple[str, list[str]]] = []
        for match in self._things.finditer(_folded(text)):
            names = self.names_of(match.group())
            if match.group() not in [written for written, _names in found]:
                found.append((match.group(), names))
        return found

    def capital_aliases(self) -> dict[str, list[str]]:
        """Seats of government (lower case) and the side they name: the capital of each side that is a United
        Nations member or observer state ("baku" -> Azerbaijan), where no alias of `sides.json` says otherwise."""
        table = self.alias_table()
        exact = {_folded(name): name for name in self.sides}
        by_form: dict[str, set[str]] = {}
        for name in self.sides:
            for form in derived_aliases(name):
                by_form.setdefault(form, set()).add(name)
        found: dict[str, list[str]] = {}
        state_forms = {state: derived_aliases(state) for state in capitals()}
        shared = {form for one, other in itertools.combinations(state_forms.values(), 2) for form in one & other}
        for state, places in capitals().items():
            if _folded(state) in exact:
                sides = {exact[_folded(state)]}
            else:  # "Russian Federation" -> the side "Russia"; a short form two states share ("congo") names neither
                forms = state_forms[state] - shared
                sides = {side for form in forms for side in by_form.get(form, set())}
            if len(sides) != 1:
                continue
            for place in places:
                alias = _folded(place)
                if alias not in table:
                    found.setdefault(alias, sorted(sides))
        return found

    def alias_table(self) -> dict[str, list[str]]:
        """Every alias (lower case) and the sides it points to: the aliases of `sides.json`, and the short forms of
        each side's name (`derived_aliases`) that no other side's name also gives."""
        return self._alias_matcher()[1]

    def _alias_matcher(self) -> tuple[re.Pattern[str], dict[str, list[str]]]:
        if self._matcher is None:
            table: dict[str, list[str]] = {}
            derived: dict[str, list[str]] = {}
            for name, info in self.sides.items():
                for alias in [name, *info.aliases]:
                    table.setdefault(" ".join(alias.lower().split()), []).append(name)
                for alias in derived_aliases(name):
                    derived.setdefault(alias, []).append(name)
            for alias, names in derived.items():
                if len(names) == 1 and alias not in table:  # "congo" names two states: neither
                    table[alias] = names
            ordered = sorted(table, key=len, reverse=True)  # the longest alias wins where two start together
            pattern = (
                re.compile(r"(?<!\w)(?:" + "|".join(re.escape(a) for a in ordered) + r")(?!\w)") if table else None
            )
            self._matcher = (pattern or re.compile(r"(?!x)x"), table)
        return self._matcher

    def _question_aliases(self) -> tuple[re.Pattern[str], dict[str, list[str]]]:
        """The alias table and matcher plus the seats of government: how a question may name a side."""
        if self._question_matcher is None:
            table = {**self.alias_table(), **self.capital_aliases()}
            ordered = sorted(table, key=len, reverse=True)
            pattern = (
                re.compile(r"(?<!\w)(?:" + "|".join(re.escape(a) for a in ordered) + r")(?!\w)") if table else None
            )
            self._question_matcher = (pattern or re.compile(r"(?!x)x"), table)
        return self._question_matcher

    def _alias_matches(self, text: str, question: bool = False) -> list[tuple[str, str]]:
        """(side, alias) for every alias that occurs in `text` as whole words (with `question`, seats of government
        count as aliases too: "Baku", "Official Yerevan")."""
        pattern, table = self._question_aliases() if question else self._alias_matcher()
        folded = _folded(text)
        return [(name, match.group()) for match in pattern.finditer(folded) for name in table[match.group()]]

    def sides_mentioned(self, text: str) -> list[str]:
        """Every side that `text` (a question) names by one of its aliases or its seat of government, in
        configuration order."""
        found = {name for name, _alias in self._alias_matches(text, question=True)}
        return [name for name in self.sides if name in found]

    def aliases_in(self, text: str) -> list[str]:
        """The aliases (side names and seats of government included) that occur in `text` as whole words."""
        return [alias for _name, alias in self._alias_matches(text, question=True)]

    def side_named_in(self, text: str) -> str | None:
        """The side whose longest alias occurs in `text` (e.g. a speaker's name), or None."""
        matches = self._alias_matches(text)
        return max(matches, key=lambda m: len(m[1]))[0] if matches else None
