"""The command line: output formats and clear errors for bad input."""

import json

import pytest

from qa_assistant.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_human_output_quotes_with_attribution(seed_index, capsys):
    code, out, _ = run(capsys, "ask", "What did each side say about Lachin?", "--index", str(seed_index))
    assert code == 0
    assert out.startswith("Understood: names searched: Lachin, Berdzor (--no-infer to ignore)\n")
    assert out.splitlines()[1] == "Statements about “Lachin”, by side:"
    assert "== Armenia ==" in out and "== Azerbaijan ==" in out
    assert "“The illegal blockade of the Lachin corridor" in out
    assert "— Ministry of Foreign Affairs of Armenia, 2023-09-19 (MFA statement on Azerbaijan's aggression" in out


def test_json_abstains_on_unrelated_question(seed_index, capsys):
    code, out, _ = run(capsys, "ask", "What is the capital of France?", "--index", str(seed_index), "--json")
    assert code == 0
    payload = json.loads(out)
    assert payload["abstained"] is True and payload["quotes"] == []


def test_side_and_date_options(seed_index, capsys):
    code, out, _ = run(
        capsys,
        "ask",
        "attack on civilians",
        "--index",
        str(seed_index),
        "--json",
        "--side",
        "Azerbaijan",
        "--since",
        "2020-01-01",
        "--until",
        "2020-12-31",
    )
    assert code == 0
    quotes = json.loads(out)["quotes"]
    assert quotes and {(q["side"], q["date"]) for q in quotes} == {("Azerbaijan", "2020-09-28")}


@pytest.mark.parametrize(
    "argv, message",
    [
        (["index", "/no/such/folder", "--index", "{tmp}/i"], "corpus folder not found: /no/such/folder"),
        (["ask", "   ", "--index", "{index}"], "the question is empty"),
        (["ask", "Lachin", "--index", "{tmp}/missing"], "no index at"),
        (["ask", "Lachin", "--index", "{index}", "--bm25-context", "-1"], "bad search setting (bm25_context"),
        (["ask", "Lachin", "--index", "{index}", "--alpha", "1.5"], "bad search setting (alpha"),
        (["ask", "Lachin", "--index", "{index}", "--candidates", "0"], "bad search setting (candidates"),
    ],
)
def test_bad_input_gives_one_clear_error_line(argv, message, tmp_path, seed_index, capsys):
    argv = [a.format(tmp=tmp_path, index=seed_index) for a in argv]
    code, out, err = run(capsys, *argv)
    assert code != 0 and out == ""
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_bad_date_is_refused(seed_index, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["ask", "Lachin", "--index", str(seed_index), "--since", "last week"])
    assert exc.value.code != 0
    assert "'last week' is not a date: use YYYY-MM-DD" in capsys.readouterr().err


def test_empty_corpus_is_an_error(tmp_path, capsys):
    (tmp_path / "corpus").mkdir()
    code, _, err = run(capsys, "index", str(tmp_path / "corpus"), "--index", str(tmp_path / "index"))
    assert code != 0 and "no readable documents in" in err
    assert not (tmp_path / "index").exists()


@pytest.mark.slow  # builds an index with the model
def test_bad_files_are_skipped_and_the_rest_indexed(tmp_path, capsys):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text("The Lachin corridor was closed in December.\n", encoding="utf-8")
    (corpus / "binary.txt").write_bytes(b"\x00\x01\x02PK\x03\x04")
    (corpus / "latin1.txt").write_bytes("Caf\xe9 au lait".encode("latin-1"))
    (corpus / "empty.md").write_text("  \n", encoding="utf-8")
    (corpus / "image.png").write_bytes(b"\x89PNG")
    code, out, _ = run(capsys, "index", str(corpus), "--index", str(tmp_path / "index"), "-q")
    assert code == 0
    assert "indexed 1 documents" in out
    assert "skipped binary.txt: binary file" in out
    assert "skipped latin1.txt: not UTF-8 text" in out
    assert "skipped empty.md: no text in the file" in out
    assert "skipped image.png: unsupported extension '.png'" in out


def test_bad_metadata_row_names_file_line_and_field(tmp_path, capsys):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Some text.\n", encoding="utf-8")
    (corpus / "metadata.csv").write_text("file,date\na.txt,19/09/2023\n", encoding="utf-8")
    code, _, err = run(capsys, "index", str(corpus), "--index", str(tmp_path / "index"), "-q")
    assert code != 0
    assert "metadata.csv, line 2: date: " in err and "YYYY-MM-DD" in err


def test_document_filter(seed_index, capsys):
    code, out, _ = run(
        capsys, "ask", "civilians", "--index", str(seed_index), "--json", "--doc", "001_34a23c110b210610.txt"
    )
    assert code == 0
    quotes = json.loads(out)["quotes"]
    assert quotes and {q["doc_id"] for q in quotes} == {"001_34a23c110b210610.txt"}


def test_a_missing_extra_is_one_error_line_with_the_install_command(monkeypatch, capsys):
    import qa_assistant.extras as extras

    real = extras.find_spec
    monkeypatch.setattr(extras, "find_spec", lambda name: None if name == "ranx" else real(name))
    assert main(["eval", "eval/seed.jsonl", "--no-report"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ranx not installed") and "qa-assistant[eval]" in err and len(err.splitlines()) == 1
