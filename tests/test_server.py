"""`qa-assistant serve`: the HTTP JSON API, its errors, and one Assistant shared by concurrent questions."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from qa_assistant import Answer
from qa_assistant.server import MAX_BODY_BYTES, create_api


@pytest.fixture(scope="module")
def client(assistant, seed_index):
    return TestClient(create_api(assistant, workers=4, index_dir=seed_index))


def test_health_describes_the_index(client, seed_index):
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["documents"] == 5 and body["sentences"] > 50
    assert body["model"] == "all-MiniLM-L6-v2" and body["index"] == str(seed_index)
    assert body["backend"] == "local"


def test_ask_returns_the_answer_json_of_the_cli(client, assistant):
    response = client.post(
        "/ask", json={"question": "Lachin corridor", "k": 3, "side": "Armenia", "since": "2020-01-01"}
    )
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    answer = Answer.model_validate_json(response.text)
    expected = assistant.ask("Lachin corridor", k=3, sides=["Armenia"], since="2020-01-01")
    assert [q.text for q in answer.quotes] == [q.text for q in expected.quotes] and answer.quotes
    assert {q.speaker_side for q in answer.quotes} == {"Armenia"} and answer.filters.sides == ["Armenia"]
    for quote in answer.quotes:
        assert quote.text == assistant.document(quote.doc_id).text[quote.start : quote.end]
    assert answer.timeline is not None and answer.timeline == expected.timeline and answer.timeline.rows
    assert '"granularity"' in response.text and '"sentence_ids"' in response.text


def test_ask_takes_every_option_of_the_cli(client, assistant):
    body = {"question": "What did Azerbaijan say in July 2023?", "k": 4, "candidates": 50, "mode": "bm25"}
    inferred = Answer.model_validate_json(client.post("/ask", json=body).text)
    assert inferred.understood is not None and inferred.filters.since is not None
    assert inferred.settings.candidates == 50 and inferred.settings.mode == "bm25"
    plain = Answer.model_validate_json(client.post("/ask", json={**body, "no_infer": True}).text)
    assert plain.understood is None and plain.filters.since is None
    unknown = {"question": "What did the president of Turkey say?", "answer_unknown_names": True}
    answer = Answer.model_validate_json(client.post("/ask", json=unknown).text)
    assert not answer.abstained and any("Turkey" in note for note in answer.notes)
    speaker = {"question": "Lachin", "speaker": "Ministry of Foreign Affairs of Armenia"}
    answer = Answer.model_validate_json(client.post("/ask", json=speaker).text)
    assert answer.quotes and {q.speaker for q in answer.quotes} == {"Ministry of Foreign Affairs of Armenia"}


@pytest.mark.parametrize(
    "body, status, message",
    [
        ({"question": "   "}, 400, "the question is empty: type a question"),
        ({"question": "Lachin", "k": 0}, 400, "k must be at least 1 (got 0)"),
        (
            {"question": "Lachin", "since": "2023-05-01", "until": "2022-01-01"},
            400,
            "the date range is empty: since 2023-05-01 is after until 2022-01-01",
        ),
        ({"question": "Lachin", "since": "2023-13-01"}, 422, "since: '2023-13-01' is not a date: use YYYY-MM-DD"),
        ({"question": "Lachin", "mode": "magic"}, 422, "mode: Input should be 'hybrid', 'bm25' or 'dense'"),
        ({"question": "Lachin", "colour": "red"}, 422, "colour: Extra inputs are not permitted"),
        ({"k": 3}, 422, "question: Field required"),
    ],
)
def test_errors_are_json_with_the_cli_message(client, body, status, message):
    response = client.post("/ask", json=body)
    assert response.status_code == status
    assert message in response.json()["error"]


def test_malformed_oversized_and_unknown_requests(client):
    response = client.post("/ask", content=b"{not json")
    assert response.status_code == 422 and "Invalid JSON" in response.json()["error"]
    response = client.post("/ask", content=json.dumps({"question": "x" * (MAX_BODY_BYTES + 10)}))
    assert response.status_code == 413 and "too large" in response.json()["error"]
    response = client.get("/nothing-here")
    assert response.status_code == 404 and response.json() == {"error": "Not Found"}


def test_a_100_kb_question_is_cut_with_a_note(client):
    question = "What did each side say about the Lachin corridor? " * 2100  # ~105 KB
    response = client.post("/ask", json={"question": question})
    assert response.status_code == 200
    answer = Answer.model_validate_json(response.text)
    assert len(answer.question) <= 1000 and question.startswith(answer.question)
    assert answer.notes == [
        f"the question was cut to its first {len(answer.question):,} of {len(question.strip()):,} characters: "
        "only those were searched (the model reads about 1,000 characters)"
    ]


def test_concurrent_questions_get_the_same_answers_as_one_at_a_time(assistant):
    """The shared Assistant under threads: encoder, FAISS and BM25 give what they give sequentially."""
    questions = [f"{q} {n}" for n in range(6) for q in ("Lachin corridor", "civilians wounded", "peacekeepers")]
    modes = ["hybrid", "dense", "bm25"]

    def answer(i: int) -> list[tuple[str, float]]:
        result = assistant.ask(questions[i], k=5, mode=modes[i % 3], min_similarity=0.0)
        return [(q.text, round(q.similarity or 0.0, 5)) for q in result.quotes]

    alone = [answer(i) for i in range(len(questions))]
    assistant.retriever._query_cache.clear()  # encode again, this time concurrently
    with ThreadPoolExecutor(max_workers=8) as pool:
        together = list(pool.map(answer, range(len(questions))))
    assert together == alone and all(alone)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_command_listens_on_localhost(seed_index, seed_corpus):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "qa_assistant.cli", "serve", "--index", str(seed_index), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
                    assert json.load(response)["status"] == "ok"
                break
            except (urllib.error.URLError, ConnectionError):
                assert process.poll() is None, process.stderr.read()
                assert time.monotonic() < deadline, "serve did not start"
                time.sleep(0.5)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/ask", data=json.dumps({"question": "Lachin corridor", "k": 2}).encode()
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert len(json.load(response)["quotes"]) == 2
        if shutil.which("ss"):  # bound to the loopback address only
            listening = subprocess.run(["ss", "-ltn"], capture_output=True, text=True).stdout
            ours = [line for line in listening.splitlines() if f":{port} " in line]
            assert ours and all("127.0.0.1:" in line for line in ours)
    finally:
        process.terminate()
        process.wait(timeout=30)
