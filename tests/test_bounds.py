"""Resource bounds: a long file with no sentence break, many tiny files (small versions; the full sizes are
measured by eval/bench_bounds.py)."""

from __future__ import annotations

from qa_assistant import Assistant
from qa_assistant.index.reuse import segment_reusing
from qa_assistant.ingest.corpus import load_corpus
from qa_assistant.text.segment import MAX_SENTENCE_CHARS, split_sentences


def test_a_2_mb_file_without_sentence_break_is_cut_into_bounded_sentences(tmp_path):
    words = "corridor blockade ceasefire Lachin civilians statement "
    text = (words * (2_000_000 // len(words) + 1))[:2_000_000]
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "long.txt").write_text(text, encoding="utf-8")
    (corpus / "nospace.txt").write_text("x" * 300_000, encoding="utf-8")
    loaded = load_corpus(corpus)
    table, _ = segment_reusing(loaded.documents, None)
    by_doc = {doc.id: doc for doc in loaded.documents}
    for i, doc_id in enumerate(("long.txt", "nospace.txt")):
        doc = by_doc[doc_id]
        spans = [
            (int(s), int(e)) for d, s, e in zip(table.doc_index, table.start, table.end) if loaded.documents[d] is doc
        ]
        assert all(e - s <= MAX_SENTENCE_CHARS for s, e in spans)
        # nothing lost: the pieces cover the text, cut at spaces when there are any
        assert "".join(doc.text[s:e] for s, e in spans).replace(" ", "") == doc.text.replace(" ", "")
        if i == 0:
            assert len(spans) == len(split_sentences(doc.text)) and 1000 <= len(spans) <= 1010
            vocabulary = set(words.split())
            assert all(set(doc.text[s:e].split()) <= vocabulary for s, e in spans)  # cut between whole words
        else:
            assert [e - s for s, e in spans] == [MAX_SENTENCE_CHARS] * 150


def test_a_long_unbroken_document_is_indexed_and_quoted_verbatim(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "short.txt").write_text("The checkpoint opened at dawn.\n", encoding="utf-8")
    line = "The Lachin corridor remained closed while convoys waited at the checkpoint without end "
    (corpus / "unbroken.txt").write_text(line * 1200, encoding="utf-8")  # ~106 KB, one line, no sentence end
    assistant = Assistant.build(corpus, tmp_path / "index")
    answer = assistant.ask("convoys waited at the checkpoint", k=3, doc_ids=["unbroken.txt"], min_similarity=0.0)
    assert answer.quotes
    for quote in answer.quotes:
        assert len(quote.text) <= MAX_SENTENCE_CHARS
        assert quote.text == assistant.document("unbroken.txt").text[quote.start : quote.end]


def test_many_tiny_files_are_all_indexed(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    tag = lambda n: "q" + "".join("abcdefghij"[int(d)] for d in f"{n:04d}")  # a word of its own per file
    for n in range(300):
        (corpus / f"note{n:04d}.txt").write_text(f"Statement {tag(n)} about the ceasefire.\n", encoding="utf-8")
    assistant = Assistant.build(corpus, tmp_path / "index")
    assert assistant.manifest.documents == 300 and assistant.manifest.sentences == 300
    hits = assistant.search(f"Statement {tag(123)} about the ceasefire", k=1, mode="bm25")
    assert hits[0].doc_id == "note0123.txt"  # (an answer would show the near-duplicate cluster's first member)
