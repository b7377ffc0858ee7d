"""Upload-to-answer time: one 20-page document added to a served index, from the upload to the first answer
that quotes it, split by stage.

    python eval/datasets/ungdc.py --split dev --out /tmp/ungdc-dev
    qa-assistant index /tmp/ungdc-dev --index /tmp/ungdc-dev-index
    python eval/bench_upload.py --index /tmp/ungdc-dev-index --corpus /tmp/ungdc-dev
    python eval/bench_upload.py --index /tmp/ungdc-dev-standin --corpus /tmp/ungdc-dev --stand-in-vectors

The index and its corpus are copied to a scratch folder first (they are not changed), then loaded as
`qa-assistant serve` loads them (checksums verified) and warmed up with one question. The document is made of
speeches of session 71 (2016, outside the dev split) from the UN archive, cut to exactly `--pages` pages of a PDF
written with fpdf2 (11 pt Helvetica, A4); the same text is also added as a .txt file, so the two are compared in
one run (`--formats pdf,txt`; a PDF is only added when this version reads PDFs). For each: the time to stage the
upload (`Assistant.add_documents`), every stage of the background job (`Job.result.stage_seconds`), the swap,
and the first `ask` whose answer quotes the new document; then its removal. Nothing of the new document is in
the vector cache (the copy has none), so its sentences are encoded. For comparison, in the same run, the same
sentences are then encoded alone (`Embedder.encode`, the index's model and encoder): the upload's cost beside
encoding is the difference. (Encoded before and after the upload, the mean taken, as the machine is shared.)
`--stand-in-vectors`: when `--index` does not exist yet, it is first built from `--corpus` with stand-in vectors
(eval/bench_scale.py's: a unit vector from a hash of each sentence, the cost of encoding without encoding) — for
when encoding the whole collection would take too long on a shared machine. The index then has the real size,
sentences, BM25, attributions and vector index; the uploaded document and the questions are encoded for real.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from qa_assistant import Assistant  # noqa: E402
from qa_assistant.models import UploadMetadata  # noqa: E402
from qa_assistant.text.segment import split_sentences  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ARCHIVE = ROOT.parent / "shared" / "ungdc" / "ungdc-1946-2019.tar.gz"
ASCII = {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-", "\u2026": "..."}


def cpu_name() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "unknown CPU"
    model = re.search(r"Model name:\s*(.+)", out)
    return f"{model.group(1).strip() if model else 'unknown CPU'}, {os.cpu_count()} cores"


def session_71_text(archive: Path, words: int) -> str:
    """Speeches of session 71, whole, until `words` words, as Latin-1 text (what the PDF's core font can show)."""
    parts, count = [], 0
    with tarfile.open(archive) as tar:
        for member in sorted(tar.getmembers(), key=lambda m: m.name):
            if "Session 71 - 2016/" not in member.name or not member.name.endswith(".txt"):
                continue
            handle = tar.extractfile(member)
            if handle is None:
                continue
            text = handle.read().decode("utf-8", errors="replace")
            for a, b in ASCII.items():
                text = text.replace(a, b)
            text = text.encode("latin-1", errors="ignore").decode("latin-1")
            paragraphs = [" ".join(p.split()) for p in text.splitlines() if p.strip()]
            parts.extend(paragraphs)
            count += sum(len(p.split()) for p in paragraphs)
            if count >= words:
                break
    return "\n\n".join(parts)


def write_pdf(paragraphs: list[str], pages: int, path: Path) -> list[str]:
    """A PDF of exactly `pages` pages of `paragraphs` (those that fit); returns the paragraphs written."""
    from fpdf import FPDF

    def render(chosen: list[str]) -> FPDF:
        pdf = FPDF(format="A4")
        pdf.set_auto_page_break(auto=True, margin=20)
        pdf.set_font("helvetica", size=11)
        pdf.add_page()
        for paragraph in chosen:
            pdf.multi_cell(0, 5.5, paragraph)
            pdf.ln(3)
        return pdf

    lo, hi = 1, len(paragraphs)  # the most paragraphs that still fit in `pages` pages
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if render(paragraphs[:mid]).pages_count <= pages:
            lo = mid
        else:
            hi = mid - 1
    chosen = paragraphs[:lo]
    pdf = render(chosen)
    if pdf.pages_count != pages:
        raise SystemExit(f"the text fills {pdf.pages_count} pages, not {pages}: give a longer text")
    pdf.output(str(path))
    return chosen


def question_for(paragraphs: list[str]) -> tuple[str, str]:
    """A question made of a long sentence about three quarters into the document, and that sentence."""
    sentences = [s for p in paragraphs[len(paragraphs) * 3 // 4 :] for s in re.split(r"(?<=[.!?])\s+", p)]
    sentence = max(sentences[:40], key=lambda s: len(s.split()) if len(s.split()) < 40 else 0)
    return " ".join(sentence.split()[:18]), sentence


def build_with_stand_in_vectors(corpus: Path, index: Path, encoder: str) -> None:
    from bench_scale import stand_in_encode  # eval/bench_scale.py, beside this script

    from qa_assistant.index.embedder import Embedder

    real = Embedder.encode
    Embedder.encode = stand_in_encode  # type: ignore[method-assign]
    try:
        started = time.perf_counter()
        built = Assistant.build(
            corpus, index, encoder=encoder, on_stage=lambda message: print(f"… {message}", flush=True)
        )
        print(
            f"built {index} with stand-in vectors in {time.perf_counter() - started:.0f} s: "
            f"{built.manifest.documents} documents, {built.manifest.sentences} sentences"
        )
    finally:
        Embedder.encode = real  # type: ignore[method-assign]


def encode_alone(assistant: Assistant, texts: list[str]) -> float:
    started = time.perf_counter()
    assistant.embedder.encode(texts)
    return time.perf_counter() - started


def measure(
    assistant: Assistant, path: Path, question: str, wait: float, texts: list[str]
) -> dict[str, float | int | str]:
    """Encode the document's sentences alone; add `path`, wait for the job, ask; encode alone again; remove it."""
    before = encode_alone(assistant, texts)
    started = time.perf_counter()
    with path.open("rb") as handle:
        job = assistant.add_documents([(path.name, handle)], UploadMetadata(side="Benchmark", date="2016-09-20"))
    staged = time.perf_counter() - started
    job = assistant.wait(job.id, timeout=wait)
    if job.state != "done" or job.result is None or not job.result.added:
        raise SystemExit(f"the upload of {path.name} did not finish: {job.state} {job.error or job.message}")
    job_done = time.perf_counter() - started
    answer = assistant.ask(question, k=6, doc_ids=None)
    answered = time.perf_counter() - started
    quoted = [q for q in answer.quotes if q.doc_id == path.name]
    after = encode_alone(assistant, texts)
    figures: dict[str, float | int | str] = {"stage upload (copy, checks)": staged}
    for stage, seconds in job.result.stage_seconds.items():
        figures[f"stage {stage}"] = seconds
    figures["job overhead (queue, polling)"] = job_done - staged - sum(job.result.stage_seconds.values())
    figures["first answer"] = answered - job_done
    figures["upload to answer"] = answered
    figures["sentences added"] = job.result.added[0].sentences
    figures["index sentences"] = job.result.sentences
    figures["quoted"] = "yes" if quoted else "NO"
    removal = time.perf_counter()
    removed = assistant.wait(assistant.remove_document(path.name).id, timeout=wait)
    if removed.state != "done":
        raise SystemExit(f"the removal of {path.name} failed: {removed.error}")
    figures["removal (job)"] = time.perf_counter() - removal
    alone = (before + after) / 2
    figures["encoding alone, before / after"] = f"{before:.1f}/{after:.1f}"
    figures["upload to answer - encoding alone"] = answered - alone
    figures["upload to answer / encoding alone"] = answered / alone
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, required=True, help="a built index (not changed: it is copied)")
    parser.add_argument("--corpus", type=Path, required=True, help="its corpus folder (copied too)")
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--formats", default="pdf,txt", help="pdf, txt or both (compared in one run)")
    parser.add_argument("--archive", type=Path, default=ARCHIVE, help="the UN General Debate archive (.tar.gz)")
    parser.add_argument("--wait", type=float, default=900, help="seconds to wait for one update")
    parser.add_argument(
        "--stand-in-vectors", action="store_true", help="build a missing --index with stand-in vectors first"
    )
    parser.add_argument("--encoder", default="torch", help="encoder of a stand-in index built here (torch, onnx, …)")
    args = parser.parse_args(argv)
    if not (args.index / "manifest.json").exists():
        if not args.stand_in_vectors:
            raise SystemExit(f"no index at {args.index}: build it (qa-assistant index) or pass --stand-in-vectors")
        build_with_stand_in_vectors(args.corpus, args.index, args.encoder)

    work = Path(tempfile.mkdtemp(prefix="bench-upload-"))
    try:
        t0 = time.perf_counter()
        shutil.copytree(args.index, work / "index")
        shutil.copytree(args.corpus, work / "corpus")
        copy_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        assistant = Assistant.load(work / "index", corpus_dir=work / "corpus", verify=True)
        assistant.ask("warm-up question about climate change")
        load_s = time.perf_counter() - t0
        m = assistant.manifest
        print(f"CPU: {cpu_name()}; load average before: {os.getloadavg()[0]:.2f}")
        print(
            f"index: {m.documents} documents, {m.sentences} sentences, {m.model} ({m.encoder}, "
            f"{m.faiss_kind}/{m.vectors}); copied in {copy_s:.1f} s, loaded and warmed up in {load_s:.1f} s"
        )
        paragraphs = session_71_text(args.archive, words=args.pages * 1500).split("\n\n")
        chosen = write_pdf(paragraphs, args.pages, work / "upload.pdf")
        text = "\n\n".join(chosen) + "\n"
        question, sentence = question_for(chosen)
        texts = [text[start:end] for start, end in split_sentences(text)]
        print(f"document: {args.pages} pages, {len(text.split())} words; question: {question!r}")
        results: dict[str, dict[str, float | int | str]] = {}
        for kind in [k.strip() for k in args.formats.split(",") if k.strip()]:
            path = work / f"bench-{args.pages}-pages.{kind}"
            if kind == "pdf":
                shutil.copyfile(work / "upload.pdf", path)
            else:
                path.write_text(text, encoding="utf-8")
            results[kind] = measure(assistant, path, question, args.wait, texts)
        if not results:
            return 1
        kinds = list(results)
        rows = list(dict.fromkeys(name for figures in results.values() for name in figures))
        print(f"\n{'seconds':38}" + "".join(f"{kind:>10}" for kind in kinds))
        for name in rows:
            cells = []
            for kind in kinds:
                value = results[kind].get(name, "")
                cells.append(f"{value:>10.2f}" if isinstance(value, float) else f"{value!s:>10}")
            print(f"{name:38}" + "".join(cells))
        if len(kinds) == 2:
            a, b = (float(results[k]["upload to answer"]) for k in kinds)
            print(f"\nupload to answer, {kinds[0]} / {kinds[1]}: {a / b:.2f}")
        print(f"load average after: {os.getloadavg()[0]:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
