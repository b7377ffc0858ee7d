"""Sides: which sides exist and which words and publishers point to them (`sides.json`), and the side a sentence
speaks for."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from .store import SentenceIndex


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

    def _alias_matches(self, text: str) -> list[tuple[str, str]]:
        """(side, alias) for every alias of every side that occurs in `text` as whole words."""
        folded = text.lower()
        return [
            (name, alias)
            for name, info in self.sides.items()
            for alias in (a.lower() for a in [name, *info.aliases])
            if re.search(rf"(?<!\w){re.escape(alias)}(?!\w)", folded)
        ]

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


def sentence_side(index: SentenceIndex, sentence_id: int) -> str | None:
    """The side a sentence speaks for: its speaker's side (the publisher's side when the publisher speaks; None when
    the speaker's side is unknown). The side filter of retrieval and the side coverage of evaluation both use it."""
    return index.attributions[sentence_id].side
