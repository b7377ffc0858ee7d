"""Boilerplate removal for scraped pages, driven by the rules in `data/boilerplate.json`.

Rules work on whole lines of the source text. The kept lines form the cleaned text, in runs of
consecutive lines copied verbatim (joined by a blank line where something was removed between them),
with a map from cleaned offsets back to source offsets so every quote can still be found in the file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, Field

from qa_assistant.text.tokens import normalize

SEPARATOR = "\n\n"


class BoilerplateRule(BaseModel):
    name: str
    action: str
    pattern: str | None = None
    case_sensitive: bool = False
    max_lines_after: int = 20
    within_first_lines: int = 6
    min_teaser_chars: int = 40

    def regex(self) -> re.Pattern:
        return re.compile(self.pattern or "$^", 0 if self.case_sensitive else re.IGNORECASE)


class BoilerplateRules(BaseModel):
    description: str = ""
    rules: list[BoilerplateRule] = Field(default_factory=list)


@lru_cache(maxsize=1)
def default_rules() -> BoilerplateRules:
    text = resources.files("qa_assistant").joinpath("data/boilerplate.json").read_text(encoding="utf-8")
    return BoilerplateRules.model_validate(json.loads(text))


def load_rules(path: Path | None) -> BoilerplateRules:
    if path is None or not path.exists():
        return default_rules()
    return BoilerplateRules.model_validate(json.loads(path.read_text(encoding="utf-8")))


@dataclass
class Removal:
    rule: str
    start: int
    end: int
    text: str


@dataclass
class CleanedText:
    text: str
    source_map: list[tuple[int, int, int]]  # (clean_start, source_start, length) of each kept run
    removed: list[Removal] = field(default_factory=list)
    dateline: str | None = None


def _lines(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in re.finditer(r"[^\n]+", text) if m.group().strip()]


def clean_text(source: str, rules: BoilerplateRules | None = None) -> CleanedText:
    rules = rules or default_rules()
    lines = _lines(source)
    drop: dict[int, str] = {}  # line number -> rule name
    dateline = None
    for rule in rules.rules:
        live = [i for i in range(len(lines)) if i not in drop]
        if rule.action == "drop_line":
            pattern = rule.regex()
            drop.update({i: rule.name for i in live if pattern.match(source[slice(*lines[i])])})
        elif rule.action == "drop_rest":
            pattern = rule.regex()
            for n, i in enumerate(live):
                if pattern.match(source[slice(*lines[i])]) and len(live) - n - 1 <= rule.max_lines_after:
                    drop.update({j: rule.name for j in live[n:]})
                    break
        elif rule.action == "dateline":
            pattern = rule.regex()
            for i in live[: rule.within_first_lines]:
                line = source[slice(*lines[i])]
                if pattern.match(line):
                    drop[i] = rule.name
                    dateline = dateline or line.strip()
        elif rule.action == "drop_repeated":
            drop.update({i: rule.name for i in _repeated_lines(source, lines, live, rule.min_teaser_chars)})
        else:
            raise ValueError(f"boilerplate rule '{rule.name}': unknown action '{rule.action}'")
    return _assemble(source, lines, drop, dateline)


def _repeated_lines(source: str, lines: list[tuple[int, int]], live: list[int], min_teaser: int) -> list[int]:
    """Lines equal to an earlier line, or an earlier line + the truncated start of a later line."""
    norms = {i: normalize(source[slice(*lines[i])]) for i in live}
    repeated = []
    seen: set[str] = set()  # a set, and prefixes looked up only at spaces where a seen line could end: linear
    lengths: set[int] = set()
    for n, i in enumerate(live):
        line = norms[i]
        if line in seen:
            repeated.append(i)
            continue
        for space in (m.start() for m in re.finditer(" ", line)):
            if space not in lengths:
                continue
            earlier = line[:space]
            if earlier in seen:
                rest = line[space + 1 :]
                if len(rest) >= min_teaser and any(norms[j].startswith(rest) for j in live[n + 1 :]):
                    repeated.append(i)
                    break
        else:
            seen.add(line)
            lengths.add(len(line))
    return repeated


def _assemble(source: str, lines: list[tuple[int, int]], drop: dict[int, str], dateline: str | None) -> CleanedText:
    parts: list[str] = []
    source_map: list[tuple[int, int, int]] = []
    removed = [Removal(drop[i], *lines[i], source[slice(*lines[i])]) for i in sorted(drop)]
    run_start = run_end = None
    clean_len = 0

    def close_run():
        nonlocal clean_len
        if run_start is None:
            return
        if parts:
            parts.append(SEPARATOR)
            clean_len += len(SEPARATOR)
        parts.append(source[run_start:run_end])
        source_map.append((clean_len, run_start, run_end - run_start))
        clean_len += run_end - run_start

    for i, (start, end) in enumerate(lines):
        if i in drop:
            close_run()
            run_start = run_end = None
            continue
        if run_start is None:
            run_start = start
        run_end = end
    close_run()
    return CleanedText("".join(parts), source_map, removed, dateline)
