"""Adding and removing documents through the HTTP API while it serves: token, limits, names, background update."""

from __future__ import annotations

import csv
import json
import shutil
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from qa_assistant import Answer, Assistant
from qa_assistant.index import update
from qa_assistant.limits import UploadLimits
from qa_assistant.server import MAX_BODY_BYTES, create_api

pytestmark = pytest.mark.slow  # builds an index of its own

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
FESTIVAL = (
    "Quokkaville lantern festival report\n\n"
    "The Quokkaville lantern festival drew nine thousand visitors to the river bank on Saturday.\n"
    "Organisers of the lantern festival thanked the volunteers who cleaned the river bank.\n"
)
QUESTION = "How many visitors came to the Quokkaville lantern festival?"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A copy of the bundled corpus, its own index, and two API clients: one with a token, one without."""
    work = tmp_path_factory.mktemp("upload")
    corpus = work / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    Assistant.build(corpus, work / "index")
    assistant = Assistant.load(work / "index")
    limits = UploadLimits(max_files=2, max_file_bytes=4000)
    return {
        "corpus": corpus,
        "assistant": assistant,
        "client": TestClient(create_api(assistant, index_dir=work / "index", token=TOKEN, limits=limits)),
        "open": TestClient(create_api(assistant, index_dir=work / "index", token=None, limits=limits)),
    }


def finished(client: TestClient, job: dict, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while job["state"] not in ("done", "failed"):
        assert time.monotonic() < deadline, f"job did not finish: {job}"
        time.sleep(0.1)
        response = client.get(f"/jobs/{job['id']}")
        assert response.status_code == 200
        job = response.json()
    return job


def metadata_rows(corpus: Path) -> dict[str, dict[str, str]]:
    """The rows of metadata.csv by file, empty cells left out."""
    with (corpus / "metadata.csv").open(encoding="utf-8-sig", newline="") as handle:
        return {row["file"]: {k: v for k, v in row.items() if v} for row in csv.DictReader(handle)}


def festival_quotes(client: TestClient) -> list[dict]:
    answer = Answer.model_validate_json(client.post("/ask", json={"question": QUESTION, "k": 3}).text)
    return [q.model_dump() for q in answer.quotes if "Quokkaville" in q.text]


def test_writes_need_the_token_and_reads_stay_open(served):
    files = {"files": ("a.txt", FESTIVAL.encode(), "text/plain")}
    off = served["open"].post("/documents", files=files)
    assert off.status_code == 403 and "--token" in off.json()["error"]
    assert served["open"].delete("/documents/000_ce08357c7478e3f0.txt").status_code == 403
    client = served["client"]
    missing = client.post("/documents", files=files)
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    wrong = client.post("/documents", files=files, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "wrong token"
    assert client.delete("/documents/000_ce08357c7478e3f0.txt").status_code == 401
    assert not (served["corpus"] / "a.txt").exists()
    listed = served["open"].get("/documents")
    assert listed.status_code == 200 and len(listed.json()) == 5
    assert served["open"].get("/health").status_code == 200
    docs = served["open"].get("/docs")
    assert docs.status_code == 200 and "/docs-static/swagger-ui-bundle.js" in docs.text  # served here, not fetched
    assert served["open"].get("/docs-static/swagger-ui-bundle.js").status_code == 200
    paths = served["open"].get("/openapi.json").json()["paths"]
    assert {"/documents", "/documents/{doc_id}", "/jobs/{job_id}", "/ask"} <= set(paths)


def test_upload_ask_and_delete(served):
    client, corpus = served["client"], served["corpus"]
    metadata_before = metadata_rows(corpus)
    assert festival_quotes(client) == []
    response = client.post(
        "/documents",
        files=[("files", ("festival.txt", FESTIVAL.encode(), "text/plain"))],
        data={"publisher": "Quokka Gazette", "side": "Quokkaville", "date": "2024-03-01", "speaker": "the organisers"},
        headers=AUTH,
    )
    assert response.status_code == 202, response.text
    assert response.headers["location"] == f"/jobs/{response.json()['id']}"
    job = finished(client, response.json())
    assert job["state"] == "done" and job["progress"] == 1.0, job
    assert [d["id"] for d in job["result"]["added"]] == ["festival.txt"]
    assert job["result"]["documents"] == 6 and set(job["result"]["stage_seconds"]) >= {"encode", "write index"}
    quotes = festival_quotes(client)
    assert quotes and quotes[0]["doc_id"] == "festival.txt" and quotes[0]["publisher"] == "Quokka Gazette"
    assert quotes[0]["text"] in FESTIVAL and quotes[0]["date"].isoformat() == "2024-03-01"
    assert client.get("/health").json()["documents"] == 6
    listed = {d["id"]: d for d in client.get("/documents").json()}
    assert listed["festival.txt"]["side"] == "Quokkaville" and listed["festival.txt"]["sentences"] >= 2
    assert (corpus / "festival.txt").read_text(encoding="utf-8") == FESTIVAL
    rows = metadata_rows(corpus)  # the new row (the 'speaker' column added to the header), the others untouched
    assert rows.pop("festival.txt") == {
        "file": "festival.txt",
        "publisher": "Quokka Gazette",
        "side": "Quokkaville",
        "date": "2024-03-01",
        "speaker": "the organisers",
    }
    assert rows == metadata_before
    # A rebuild from the shell gives the same documents.
    rebuilt = Assistant.build(corpus, corpus.parent / "rebuilt")
    assert [d.id for d in rebuilt.documents] == [d["id"] for d in client.get("/documents").json()]

    removed = client.delete("/documents/festival.txt", headers=AUTH)
    assert removed.status_code == 202
    job = finished(client, removed.json())
    assert job["state"] == "done" and job["result"]["removed"] == ["festival.txt"]
    assert festival_quotes(client) == [] and client.get("/health").json()["documents"] == 5
    assert not (corpus / "festival.txt").exists() and list((corpus / ".removed").rglob("festival.txt"))
    assert metadata_rows(corpus) == metadata_before
    assert client.delete("/documents/festival.txt", headers=AUTH).status_code == 400


def test_file_names_cannot_leave_the_corpus_folder(served):
    client, corpus = served["client"], served["corpus"]
    before = sorted(p.name for p in corpus.parent.iterdir())
    for name in ("../../escape.txt", "..\\..\\escape.txt", "/etc/escape.txt"):
        response = client.post("/documents", files={"files": (name, FESTIVAL.encode())}, headers=AUTH)
        assert response.status_code == 202, response.text
        job = finished(client, response.json())
        assert job["state"] == "done" and [d["id"] for d in job["result"]["added"]] == ["escape.txt"]
        assert (corpus / "escape.txt").read_text(encoding="utf-8") == FESTIVAL
        assert finished(client, client.delete("/documents/escape.txt", headers=AUTH).json())["state"] == "done"
    assert sorted(p.name for p in corpus.parent.iterdir()) == before
    for name, problem in (
        ("..", "not a usable file name"),
        ("metadata.csv", "'.csv' cannot be added"),
        (".txt", "usable"),
    ):
        response = client.post("/documents", files={"files": (name, b"x")}, headers=AUTH)
        assert response.status_code == 400 and problem in response.json()["error"], response.text
    existing = client.post("/documents", files={"files": ("000_ce08357c7478e3f0.txt", b"x")}, headers=AUTH)
    assert existing.status_code == 400 and "already in the corpus" in existing.json()["error"]


def test_limits_types_and_unreadable_files_are_refused_clearly(served):
    client, corpus = served["client"], served["corpus"]
    listing = sorted(p.name for p in corpus.iterdir())
    three = [("files", (f"n{i}.txt", FESTIVAL.encode())) for i in range(3)]
    response = client.post("/documents", files=three, headers=AUTH)
    assert response.status_code == 400 and "at most 2 can be added at once" in response.json()["error"]
    big = client.post("/documents", files={"files": ("big.txt", b"word " * 1000)}, headers=AUTH)
    assert big.status_code == 400 and "'big.txt' is larger than the limit" in big.json()["error"]
    huge = client.post("/documents", files={"files": ("huge.txt", b"w" * (MAX_BODY_BYTES + 9000))}, headers=AUTH)
    assert huge.status_code == 413 and "2 files of at most" in huge.json()["error"]
    exe = client.post("/documents", files={"files": ("tool.exe", b"MZ")}, headers=AUTH)
    assert exe.status_code == 400 and "'.exe' cannot be added" in exe.json()["error"] and ".pdf" in exe.json()["error"]
    date = client.post(
        "/documents", files={"files": ("d.txt", FESTIVAL.encode())}, data={"date": "1/3/24"}, headers=AUTH
    )
    assert date.status_code == 422 and "YYYY-MM-DD" in date.json()["error"]
    binary = client.post("/documents", files={"files": ("binary.txt", b"\0\1\2 not text")}, headers=AUTH)
    job = finished(client, binary.json())
    assert job["state"] == "failed" and "binary.txt: binary file" in job["error"]
    assert sorted(p.name for p in corpus.iterdir()) == listing  # nothing stored, no staging left behind


def test_questions_are_answered_from_the_old_index_until_the_new_one_is_in(served, monkeypatch):
    client, corpus = served["client"], served["corpus"]
    metadata = (corpus / "metadata.csv").read_bytes()
    release, building = threading.Event(), threading.Event()
    real_rebuild = update._rebuild

    def slow_rebuild(*args, **kwargs):
        building.set()
        assert release.wait(60)
        return real_rebuild(*args, **kwargs)

    monkeypatch.setattr(update, "_rebuild", slow_rebuild)
    job = client.post("/documents", files={"files": ("later.txt", FESTIVAL.encode())}, headers=AUTH).json()
    assert building.wait(60)
    assert client.get(f"/jobs/{job['id']}").json()["state"] == "running"
    assert festival_quotes(client) == [] and client.get("/health").json()["documents"] == 5  # the current index
    release.set()
    assert finished(client, job)["state"] == "done"
    assert [q["doc_id"] for q in festival_quotes(client)][:1] == ["later.txt"]
    assert finished(client, client.delete("/documents/later.txt", headers=AUTH).json())["state"] == "done"

    # A build that fails leaves the corpus folder and the index as they were.
    def failing_rebuild(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(update, "_rebuild", failing_rebuild)
    job = finished(
        client, client.post("/documents", files={"files": ("x.txt", FESTIVAL.encode())}, headers=AUTH).json()
    )
    assert job["state"] == "failed" and "disk full" in job["error"]
    assert not (corpus / "x.txt").exists() and (corpus / "metadata.csv").read_bytes() == metadata
    assert client.get("/health").json()["documents"] == 5 and len(client.get("/documents").json()) == 5


def test_the_command_line_adds_lists_and_removes(served, tmp_path, capsys):
    from qa_assistant.cli import main

    index, corpus = str(served["assistant"].index_dir), str(served["corpus"])
    path = tmp_path / "cli festival.txt"
    path.write_text(FESTIVAL, encoding="utf-8")
    assert main(["add", str(path), "--index", index, "--corpus", corpus, "--side", "Quokkaville", "-q"]) == 0
    job = json.loads(capsys.readouterr().out)
    assert job["state"] == "done" and [d["id"] for d in job["result"]["added"]] == ["cli festival.txt"]
    assert main(["documents", "--index", index, "--corpus", corpus, "--json"]) == 0
    listed = {d["id"]: d for d in json.loads(capsys.readouterr().out)}
    assert listed["cli festival.txt"]["side"] == "Quokkaville" and len(listed) == 6
    assert main(["add", str(path), "--index", index, "--corpus", corpus, "-q"]) == 2
    assert "already in the corpus" in capsys.readouterr().err
    assert main(["remove", "cli festival.txt", "--index", index, "--corpus", corpus, "-q"]) == 0
    assert json.loads(capsys.readouterr().out)["result"]["removed"] == ["cli festival.txt"]
    assert not (served["corpus"] / "cli festival.txt").exists()
