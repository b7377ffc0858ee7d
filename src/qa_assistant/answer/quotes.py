"""Making quotes: which member of a near-duplicate cluster to quote, and the `Quote` of a sentence with its
attribution, link, context and the other documents that carry it."""

from __future__ import annotations

import datetime as dt

import numpy as np

from qa_assistant.index.store import SentenceIndex
from qa_assistant.ingest.attribution import DOCUMENT_VOICE
from qa_assistant.models import Document, Hit, OtherSource, Quote


def _date_key(doc: Document) -> tuple:
    return (doc.date is None, doc.date or dt.date.min)


class QuoteMaker:
    """Quotes of the sentences of an index."""

    def __init__(self, index: SentenceIndex):
        self.index = index
        self.sentence_count = len(index.sentences)
        cluster = index.sentences.cluster
        # sentence ids ordered by cluster (then id): the members of a cluster are one run of `by_cluster`
        self.by_cluster = np.argsort(cluster, kind="stable") if cluster is not None else None
        self.sorted_clusters = cluster[self.by_cluster] if cluster is not None else None

    def cluster_of(self, sentence_id: int) -> list[int]:
        """The sentences of the near-duplicate cluster of `sentence_id`, in corpus order (itself alone if unique)."""
        cluster = self.index.sentences.cluster
        if cluster is None or self.by_cluster is None or self.sorted_clusters is None:
            return [sentence_id]
        label = cluster[sentence_id]
        lo, hi = np.searchsorted(self.sorted_clusters, [label, label + 1])
        return self.by_cluster[lo:hi].tolist() if hi - lo > 1 else [sentence_id]

    def primary(self, members: list[int], allowed: np.ndarray | None) -> int:
        """The cluster member to quote: earliest published, then the speaker's own publication, then corpus order."""
        candidates = [m for m in members if allowed is None or allowed[m]] or members

        def key(m: int) -> tuple:
            attribution = self.index.attributions[m]
            own = attribution.source in DOCUMENT_VOICE
            return (*_date_key(self.index.document_of(m)), not own, m)

        return min(candidates, key=key)

    def other_source(self, sentence_id: int) -> OtherSource:
        doc = self.index.document_of(sentence_id)
        start, end = int(self.index.sentences.start[sentence_id]), int(self.index.sentences.end[sentence_id])
        return OtherSource(
            doc_id=doc.id,
            title=doc.title,
            publisher=doc.publisher,
            date=doc.date,
            speaker=self.index.attributions[sentence_id].speaker,
            text=doc.text[start:end],
            start=start,
            end=end,
            link=self._link(doc, start, end),
            page=doc.page_range(start, end)[0],
        )

    @staticmethod
    def _link(doc: Document, start: int, end: int) -> str:
        """Where text[start:end] stands: a PDF's page (RFC 8118 #page=N, in the file or at its URL), else the
        characters (RFC 5147 #char=start,end) of the source file, or of the text when it was extracted."""
        page = doc.page_range(start, end)[0]
        if page is not None:
            return f"{doc.url or doc.path}#page={page}"
        source = doc.source_offsets(start, end)
        where = doc.url or doc.path
        return f"{where}#char={source[0]},{source[1]}" if source else f"{doc.path}#char={start},{end}"

    def quote(self, hit: Hit, sentence_id: int, similarity: float, others: list[int]) -> Quote:
        table = self.index.sentences
        doc = self.index.document_of(sentence_id)
        start, end = int(table.start[sentence_id]), int(table.end[sentence_id])
        before = after = None
        if sentence_id > 0 and table.doc_index[sentence_id - 1] == table.doc_index[sentence_id]:
            before = self.index.sentence_text(sentence_id - 1)
        if sentence_id + 1 < self.sentence_count and table.doc_index[sentence_id + 1] == table.doc_index[sentence_id]:
            after = self.index.sentence_text(sentence_id + 1)
        attribution = self.index.attributions[sentence_id]
        source = doc.source_offsets(start, end)
        page, page_end = doc.page_range(start, end)
        return Quote(
            text=doc.text[start:end],
            doc_id=doc.id,
            start=start,
            end=end,
            title=doc.title,
            publisher=doc.publisher,
            side=doc.side,
            date=doc.date,
            url=doc.url,
            path=doc.path,
            link=self._link(doc, start, end),
            source_start=source[0] if source else None,
            source_end=source[1] if source else None,
            page=page,
            page_end=page_end if page_end != page else None,
            speaker=attribution.speaker,
            speaker_side=attribution.side,
            speaker_source=attribution.source,
            cue=doc.text[attribution.cue_start : attribution.cue_end] if attribution.cue_start is not None else None,
            cue_start=attribution.cue_start,
            cue_end=attribution.cue_end,
            attribution_confidence=attribution.confidence,
            also_in=[self.other_source(m) for m in others],
            score=hit.score,
            bm25_score=hit.bm25_score,
            bm25_rank=hit.bm25_rank,
            dense_score=hit.dense_score,
            dense_rank=hit.dense_rank,
            fusion_weights=hit.fusion_weights,
            similarity=similarity,
            context_before=before,
            context_after=after,
        )
