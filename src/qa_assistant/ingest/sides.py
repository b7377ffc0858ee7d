"""Sides: which sides exist and which words and publishers point to them (`sides.json`)."""

from __future__ import annotations

import re
from collections.abc import Iterable
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
        return SideConfig(description=self.description, sides={**self.sides, **added})

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

    def _alias_matches(self, text: str) -> list[tuple[str, str]]:
        """(side, alias) for every alias that occurs in `text` as whole words."""
        pattern, table = self._alias_matcher()
        folded = " ".join(text.lower().replace("’", "'").split())
        return [(name, match.group()) for match in pattern.finditer(folded) for name in table[match.group()]]

    def sides_mentioned(self, text: str) -> list[str]:
        """Every side that `text` names by one of its aliases, in configuration order."""
        found = {name for name, _alias in self._alias_matches(text)}
        return [name for name in self.sides if name in found]

    def aliases_in(self, text: str) -> list[str]:
        """The aliases (side names included) that occur in `text` as whole words."""
        return [alias for _name, alias in self._alias_matches(text)]

    def side_named_in(self, text: str) -> str | None:
        """The side whose longest alias occurs in `text` (e.g. a speaker's name), or None."""
        matches = self._alias_matches(text)
        return max(matches, key=lambda m: len(m[1]))[0] if matches else None
