"""What a build did, as data: what changed in the corpus since the last build, what was kept from it, what was
encoded. The progress messages (`on_stage`) say the same in words; `SentenceIndex.build_report` holds the figures."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class CorpusChanges:
    """Corpus files now, and those added, changed and removed since the last build (None: no build to compare)."""

    files: int
    added: int | None = None
    changed: int | None = None
    removed: int | None = None

    def describe(self) -> str:
        if self.added is None:
            return f"{self.files} corpus files, no earlier build to compare with"
        return f"since the last build: {self.added} files added, {self.changed} changed, {self.removed} removed"


def corpus_changes(before: dict[str, str], hashes: dict[str, str]) -> CorpusChanges:
    """What changed in the corpus (`hashes`: SHA-256 of each file now) since the build that recorded `before`
    (empty: no earlier build)."""
    if not before:
        return CorpusChanges(len(hashes))
    added = sum(1 for path in hashes if path not in before)
    removed = sum(1 for path in before if path not in hashes)
    changed = sum(1 for path, sha in hashes.items() if path in before and before[path] != sha)
    return CorpusChanges(len(hashes), added, changed, removed)


@dataclass
class BuildReport:
    """The figures of one build (or of finding the index up to date)."""

    up_to_date: bool = False  # the index was kept as it was: nothing below was done
    changes: CorpusChanges | None = None
    documents_segmented: int = 0
    documents_kept: int = 0  # taken from the earlier build with their sentences
    vectors_looked_up: int = 0  # sentence vectors asked of the vector cache (or encoded, without one)
    vectors_from_cache: int = 0
    vectors_added: int | None = None  # to the earlier vector index; None: the vector index was built anew
    milvus: dict[str, int] = field(default_factory=dict)  # the counts of the Milvus sync, when there is one
