"""The UN General Debate preparer (eval/datasets/ungdc.py) on a tiny archive made here, and the committed sample."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from qa_assistant import Assistant
from qa_assistant.ingest.corpus import SideConfig, load_corpus

ROOT = Path(__file__).resolve().parents[1]
PREPARER = ROOT / "eval" / "datasets" / "ungdc.py"
SAMPLE = ROOT / "tests" / "data" / "ungdc-sample"

SPEECHES = {
    "TXT/Session 73 - 2018/USA_73_2018.txt": (
        b"I am honoured to address this Assembly.\nThe United States will always act in its national interest. "
        b"We reject the ideology of globalism and we embrace the doctrine of patriotism.\n"
    ),
    "TXT/Session 46 - 1991/RUS_46_1991.txt": (
        b"The Soviet Union supports the strengthening of the United Nations.\n"
        b"Our country has renounced the policy of confrontation and seeks cooperation with all States.\n"
    ),
    "TXT/Session 74 - 2019/IRN_74_2019.txt": (
        "Iran calls for a regional security arrangement in the Persian Gulf, the Hormuz Peace Endeavour.\n"
        "Our proposal is open to every coastal State — the café of the region belongs to its people.\n"
    ).encode("cp1252"),
    "TXT/Session 74 - 2019/EU_74_2019.txt": (
        b"The European Union remains committed to effective multilateralism.\n"
        b"Climate change is the defining challenge of our time.\n"
    ),
    "TXT/Session 46 - 1991/.Rhistory": b"junk\n",
}
SPEAKERS = [
    ("Year", "Session", "ISO Code", "Country", "Name of Person Speaking", "Post"),
    (2018, 73, "USA", "United States of America ", "Donald Trump", "President"),
    (1991, 46, "RUS", "USSR", "Boris Pankin", "Minister for Foreign Affairs"),
    (2019, 74, "IRN", "Iran (Islamic Republic of)", "Hassan Rouhani", "President"),
]


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> tuple[Path, Path]:
    import openpyxl

    folder = tmp_path_factory.mktemp("ungdc-source")
    tarball = folder / "ungdc.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        for name, data in SPEECHES.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    book = openpyxl.Workbook()
    for row in SPEAKERS:
        book.active.append(row)
    book.save(folder / "speakers.xlsx")
    return tarball, folder / "speakers.xlsx"


def prepare(archive: tuple[Path, Path], out: Path, *extra: str) -> subprocess.CompletedProcess:
    tarball, speakers = archive
    command = [sys.executable, str(PREPARER), "--archive", str(tarball), "--speakers", str(speakers)]
    return subprocess.run([*command, "--out", str(out), *extra], capture_output=True, text=True, timeout=120)


def read_rows(folder: Path) -> dict[str, dict[str, str]]:
    with (folder / "metadata.csv").open(encoding="utf-8") as handle:
        return {row["file"]: row for row in csv.DictReader(handle)}


def test_preparer_writes_speeches_metadata_and_sides_that_index(archive, tmp_path):
    out = tmp_path / "ungdc"
    result = prepare(archive, out)
    assert result.returncode == 0, result.stderr
    assert "wrote 4 speeches" in result.stdout
    rows = read_rows(out)
    assert sorted(rows) == ["EU_74_2019.txt", "IRN_74_2019.txt", "RUS_46_1991.txt", "USA_73_2018.txt"]
    usa = rows["USA_73_2018.txt"]
    assert usa["title"] == "United States, General Debate, session 73 (2018) — Donald Trump, President"
    assert (usa["publisher"], usa["side"], usa["date"]) == (
        "United Nations General Assembly",
        "United States",
        "2018-09-15",
    )
    assert rows["RUS_46_1991.txt"]["side"] == "Soviet Union"  # the USSR spoke under RUS until 1991
    assert rows["EU_74_2019.txt"]["title"] == "European Union, General Debate, session 74 (2019)"  # no speaker row
    assert "café" in (out / "IRN_74_2019.txt").read_text(encoding="utf-8")  # Windows-1252 re-encoded
    assert not any(p.name.startswith(".") for p in out.iterdir())

    sides = SideConfig.model_validate_json((out / "sides.json").read_text(encoding="utf-8"))
    assert sides.side_named_in("the Permanent Representative of the Russian Federation") == "Russia"
    assert sides.side_named_in("Turkey") == "Türkiye" and sides.side_named_in("Viet Nam") == "Viet Nam"
    assert set(sides.sides_mentioned("What did the USA, the UK and the USSR say about Iran?")) == {
        "United States",
        "United Kingdom",
        "Soviet Union",
        "Iran",
    }
    assert sides.sides_mentioned("Tell us what was said") == []  # no bare "US" alias
    assert {"Palestine", "North Korea", "South Korea", "Syria", "Czechia", "Yugoslavia", "European Union"} <= set(
        sides.sides
    )

    corpus = load_corpus(out)
    assert not corpus.skipped
    by_id = {d.id: d for d in corpus.documents}
    assert by_id["RUS_46_1991.txt"].side == "Soviet Union"
    assert str(by_id["USA_73_2018.txt"].date) == "2018-09-15"
    assistant = Assistant.build(out, tmp_path / "index")
    answer = assistant.ask("renounced confrontation and seeks cooperation", sides=["Soviet Union"], k=3)
    assert answer.quotes and {q.doc_id for q in answer.quotes} == {"RUS_46_1991.txt"}
    assert answer.quotes[0].publisher == "United Nations General Assembly"


def test_preparer_selects_sessions_and_years(archive, tmp_path):
    assert prepare(archive, tmp_path / "a", "--sessions", "70-74").returncode == 0
    assert sorted(read_rows(tmp_path / "a")) == ["EU_74_2019.txt", "IRN_74_2019.txt", "USA_73_2018.txt"]
    assert prepare(archive, tmp_path / "b", "--years", "1991").returncode == 0
    assert sorted(read_rows(tmp_path / "b")) == ["RUS_46_1991.txt"]
    assert prepare(archive, tmp_path / "dev", "--split", "dev").returncode == 0  # sessions 72-74
    assert sorted(read_rows(tmp_path / "dev")) == ["EU_74_2019.txt", "IRN_74_2019.txt", "USA_73_2018.txt"]


def test_preparer_errors_are_one_line_and_keep_the_old_folder(archive, tmp_path):
    out = tmp_path / "kept"
    assert prepare(archive, out, "--sessions", "73").returncode == 0
    for extra, message in [
        (("--sessions", "1-2"), "no speech"),
        (("--sessions", "x"), "--sessions takes numbers"),
    ]:
        result = prepare(archive, out, *extra)
        assert result.returncode == 2 and result.stderr.startswith("error:") and message in result.stderr
        assert "Traceback" not in result.stderr
    assert sorted(read_rows(out)) == ["USA_73_2018.txt"]  # a failed run left the previous corpus as it was
    missing = prepare((tmp_path / "none.tar.gz", archive[1]), tmp_path / "c")
    assert missing.returncode == 2 and "not found" in missing.stderr


def test_committed_sample_is_a_prepared_corpus():
    rows = read_rows(SAMPLE)
    corpus = load_corpus(SAMPLE)
    assert len(corpus.documents) == len(rows) == 10 and not corpus.skipped
    assert {d.side for d in corpus.documents} == {"Armenia", "Azerbaijan", "Iran", "Russia", "United States"}
    assert all(d.side in corpus.sides.sides and d.title and d.date for d in corpus.documents)
    assert sum(p.stat().st_size for p in SAMPLE.iterdir()) < 400_000
    assert json.loads((SAMPLE / "sides.json").read_text(encoding="utf-8"))["sides"]["Türkiye"]["aliases"]
