"""Every quote the product returns is the source text at its offsets."""

import json

import pytest

from qa_assistant.cli import main

QUESTIONS = [
    "What did each side say about Lachin?",
    "What did Armenia and Azerbaijan say about the Lachín corridor?",
    "How many civilians were wounded?",
    "landmine victims since November 2020",
    "Who is blamed for the aggression?",
    "humanitarian corridors for evacuation",
]


@pytest.mark.parametrize("mode", ["hybrid", "bm25", "dense"])
def test_quotes_equal_document_text_at_offsets(assistant, mode):
    documents = {d.id: d for d in assistant.documents}
    seen = 0
    for question in QUESTIONS:
        for fusion in ("rrf", "weighted"):
            answer = assistant.ask(question, k=8, mode=mode, fusion=fusion, min_similarity=-1.0)
            for quote in answer.quotes:
                doc = documents[quote.doc_id]
                assert quote.text == doc.text[quote.start : quote.end]
                assert quote.link.endswith(f"#char={quote.source_start},{quote.source_end}")
                if quote.context_before:
                    assert quote.context_before in doc.text[: quote.start]
                if quote.context_after:
                    assert quote.context_after in doc.text[quote.end :]
                seen += 1
    assert seen > 40


def test_quotes_equal_the_bytes_of_the_source_file(assistant, seed_corpus):
    answer = assistant.ask("What did each side say about Lachin?")
    assert answer.quotes
    for quote in answer.quotes:
        raw = (seed_corpus / quote.doc_id).read_bytes()
        assert raw.decode("utf-8")[quote.source_start : quote.source_end].encode("utf-8") == quote.text.encode("utf-8")
        for other in quote.also_in:
            assert assistant.document(other.doc_id).text[other.start : other.end] == other.text


def test_cli_json_quotes_are_verbatim(seed_index, seed_corpus, capsys):
    assert main(["ask", "What did each side say about Lachin?", "--index", str(seed_index), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["abstained"] is False
    for quote in payload["quotes"]:
        for field in ("text", "doc_id", "start", "end", "title", "publisher", "side", "date", "speaker", "score"):
            assert field in quote
        raw = (seed_corpus / quote["doc_id"]).read_text(encoding="utf-8")
        assert raw[quote["source_start"] : quote["source_end"]] == quote["text"]
