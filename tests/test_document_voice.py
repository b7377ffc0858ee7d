"""Who speaks when a sentence names nobody: the document's metadata speaker, the issuing body its title names, or
its publisher."""

from __future__ import annotations

from qa_assistant.ingest.attribution import attribute_document, issuing_body
from qa_assistant.ingest.corpus import load_corpus
from qa_assistant.text.segment import split_sentences


def test_issuing_body_from_a_title():
    assert issuing_body("Azerbaijan’s MFA releases statement on latest situation in region") == "MFA of Azerbaijan"
    assert issuing_body("Armenian Foreign Ministry issues a statement on the blockade") == "Armenian Foreign Ministry"
    assert issuing_body("Foreign Ministry: Any steps against territorial integrity will be suppressed") == (
        "Foreign Ministry"
    )
    assert issuing_body("Shelling continues near Lachin") is None
    assert issuing_body("Lachin: a road under blockade") is None
    assert issuing_body(None) is None


def test_statement_carried_by_an_agency_is_the_issuing_body_via_the_agency(assistant):
    answer = assistant.ask("Lachin border checkpoint installed in sovereign territories", k=3, sides=["Azerbaijan"])
    report = [q for q in answer.quotes if q.publisher == "Report" and q.speaker_source == "title"]
    assert report, [(q.speaker, q.publisher, q.speaker_source) for q in answer.quotes]
    assert all(q.speaker == "MFA of Azerbaijan" and q.speaker_side == "Azerbaijan" for q in report)


def test_metadata_speaker_is_the_default_speaker(tmp_path):
    (tmp_path / "ARM_73_2018.txt").write_text(
        "We stand for a peaceful settlement of the conflict. The people of the region deserve peace.\n",
        encoding="utf-8",
    )
    (tmp_path / "JSON.jsonl").write_text(
        '{"id": "a", "text": "The Assembly must act on climate change now.", "publisher": "UNGA", '
        '"side": "Fiji", "speaker": "Frank Bainimarama, Prime Minister"}\n',
        encoding="utf-8",
    )
    (tmp_path / "metadata.csv").write_text(
        "file,title,publisher,side,date,speaker\n"
        'ARM_73_2018.txt,"Armenia, session 73",United Nations General Assembly,Armenia,2018-09-15,'
        '"Nikol Pashinyan, Prime Minister"\n',
        encoding="utf-8",
    )
    corpus = load_corpus(tmp_path)
    for doc in corpus.documents:
        attributions = attribute_document(doc, split_sentences(doc.text), corpus.sides)
        assert attributions and all(a.source == "metadata" for a in attributions)
        assert all(a.speaker == doc.speaker and a.side == doc.side for a in attributions)
    assert {d.speaker for d in corpus.documents} == {
        "Nikol Pashinyan, Prime Minister",
        "Frank Bainimarama, Prime Minister",
    }
