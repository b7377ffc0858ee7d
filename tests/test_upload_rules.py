"""The rules of adding files, without a model: stored names, the metadata.csv rewrite, who may write in the app."""

from __future__ import annotations

import csv
import io

import pytest

from qa_assistant.errors import QAError
from qa_assistant.ingest.uploads import CorpusEdit, rewrite_metadata, safe_file_name, stage_files
from qa_assistant.limits import UploadLimits
from qa_assistant.models import Job, SkippedUpload, UpdateResult, UploadMetadata
from qa_assistant.ui.collection import WriteAccess, status_html


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/cron.d/x.txt", "x.txt"),
        ("..\\..\\Windows\\x.md", "x.md"),
        ("/abs/path/Statement 2023.docx", "Statement 2023.docx"),
        (".hidden.txt", "hidden.txt"),
        ("a<b>|c?.html", "a_b__c_.html"),
        ("line\nbreak\x00.txt", "line_break_.txt"),
        ("Déclaration.txt", "Déclaration.txt"),
        ("x" * 300 + ".jsonl", "x" * 144 + ".jsonl"),
    ],
)
def test_stored_names_stay_inside_the_corpus_folder(given, stored):
    assert safe_file_name(given) == stored


@pytest.mark.parametrize(
    ("given", "problem"),
    [("..", "usable"), ("", "usable"), ("noext", "usable"), ("x.exe", "'.exe'"), ("sides.json", "'.json'")],
)
def test_unusable_names_and_types_are_refused(given, problem):
    with pytest.raises(QAError, match=problem):
        safe_file_name(given)


def test_metadata_rewrite_keeps_every_other_row_column_and_encoding(tmp_path):
    original = (
        "\ufefffile,title,side,extra\r\n"
        'a.txt,"Title, with comma",Armenia,kept\r\n'
        "b.txt,B,Azerbaijan,\r\n"
        'c.txt,"Quote ""inside""",,x\r\n'
    )
    (tmp_path / "metadata.csv").write_bytes(original.encode("utf-8"))
    rewrite_metadata(tmp_path, set(), {"new.txt": UploadMetadata(side="Neutral", date="2024-01-02")})
    data = (tmp_path / "metadata.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["file", "title", "side", "extra", "date"]
    assert rows[1:4] == [
        ["a.txt", "Title, with comma", "Armenia", "kept", ""],
        ["b.txt", "B", "Azerbaijan", "", ""],
        ["c.txt", 'Quote "inside"', "", "x", ""],
    ]
    assert rows[4] == ["new.txt", "", "Neutral", "", "2024-01-02"]
    rewrite_metadata(tmp_path, {"b.txt", "new.txt"}, {})
    rows = list(csv.reader(io.StringIO((tmp_path / "metadata.csv").read_text("utf-8-sig"), newline="")))
    assert [row[0] for row in rows] == ["file", "a.txt", "c.txt"]


def test_an_upload_without_metadata_creates_no_sidecar_and_undo_restores(tmp_path):
    staging = stage_files(tmp_path, [("a.txt", b"Some text.")], UploadMetadata(), UploadLimits())
    edit = CorpusEdit(tmp_path)
    assert edit.add(staging) == ["a.txt"]
    assert (tmp_path / "a.txt").read_bytes() == b"Some text." and not (tmp_path / "metadata.csv").exists()
    edit.rollback()
    staging.discard()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_the_app_panel_needs_the_token_off_this_machine():
    assert WriteAccess.for_host("127.0.0.1", None).refusal(None) is None
    off = WriteAccess.for_host("0.0.0.0", None)
    assert not off.enabled and "--token" in (off.refusal("anything") or "")
    guarded = WriteAccess.for_host("0.0.0.0", "tok")
    assert guarded.needs_token and guarded.refusal("tok") is None
    assert guarded.refusal("") == "Type the app's token to add or remove documents."
    assert guarded.refusal("nope") == "Wrong token."


def test_the_status_escapes_names_and_reasons():
    job = Job.model_validate(
        {
            "id": "x",
            "kind": "add",
            "state": "done",
            "created_at": "2024-01-01T00:00:00Z",
            "result": UpdateResult(not_added=[SkippedUpload(file="<img src=x onerror=alert(1)>.txt", reason="<b>")]),
        }
    )
    html = status_html(job)
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;.txt not added: &lt;b&gt;" in html
    running = status_html(job.model_copy(update={"state": "running", "progress": 0.45, "message": "encoding <x>"}))
    assert '<progress value="0.45" max="1">' in running and "encoding &lt;x&gt;" in running
