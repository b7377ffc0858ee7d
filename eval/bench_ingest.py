"""PDF reading and whole-build speed: N documents laid out as PDFs (fpdf2: a running header with a symbol and a
title, a footer 'Page N of M', words hyphenated at line ends, every other file in two columns) against the same
text as .txt files.

    .venv/bin/python eval/bench_ingest.py --corpus /tmp/ungdc-dev --n 20        # 20 UN speeches (*.txt), sorted
    .venv/bin/python eval/bench_ingest.py --n 5 --no-build                     # the bundled corpus, reading only

Prints, for both folders: pages/s of PDF reading (`ingest.pdf.read_pdf`: text of every page and the running
headers and footers found), the corpus read (`load_corpus`: also cleaning and metadata), the whole build's
sentences/s with the time of each of its stages, and their ratios; how many of the .txt sentences the PDFs give
word for word; the load average before and after (the machine may be shared). The PDF build and the .txt build
each get their own index folder and vector cache, so neither reuses the other's vectors.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from fpdf import FPDF  # noqa: E402

from qa_assistant.index.build import build_and_save  # noqa: E402
from qa_assistant.index.embedder import DEFAULT_ENCODER, DEFAULT_MODEL, Embedder  # noqa: E402
from qa_assistant.ingest.corpus import load_corpus  # noqa: E402
from qa_assistant.ingest.pdf import read_pdf  # noqa: E402
from qa_assistant.models import reading_text  # noqa: E402
from qa_assistant.text.segment import split_sentences  # noqa: E402

# The PDF core fonts hold Latin-1 only: other characters are written as their nearest Latin-1 (in both versions).
LATIN1 = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "…": "...", "\u00a0": " "})
SOFT_HYPHEN = "\u00ad"  # fpdf2 breaks a word there and prints a hyphen when it ends a line
_LONG_WORD = re.compile(r"\b([A-Za-z]{5,})([a-z]{5,})\b")


def plain(text: str) -> str:
    text = text.translate(LATIN1)
    return text.encode("latin-1", "replace").decode("latin-1")


class Statement(FPDF):
    def __init__(self, symbol: str, title: str):
        super().__init__()
        self.symbol, self.running_title = symbol, title

    def header(self):
        self.set_font("Helvetica", size=8)
        self.cell(0, 4, self.symbol, align="R", new_x="LMARGIN", new_y="NEXT")
        self.cell(0, 4, self.running_title, align="C", new_x="LMARGIN", new_y="NEXT")
        self.ln(5)

    def footer(self):
        self.set_y(-14)
        self.set_font("Helvetica", size=8)
        self.cell(0, 6, f"Page {self.page_no()} of {{nb}}", align="C")


def write_pdf(text: str, path: Path, number: int) -> None:
    pdf = Statement(f"A/74/PV.{number}", "General debate of the seventy-fourth session")
    pdf.set_title(path.stem)
    pdf.set_font("Helvetica", size=10)
    pdf.add_page()
    paragraphs = [_LONG_WORD.sub(rf"\1{SOFT_HYPHEN}\2", p.strip()) for p in text.split("\n") if p.strip()]
    if number % 2:
        with pdf.text_columns(ncols=2, text_align="LEFT", gutter=8) as columns:
            for paragraph in paragraphs:
                columns.write(paragraph)
                columns.ln()
    else:
        for paragraph in paragraphs:
            pdf.multi_cell(0, 5, paragraph, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
    pdf.output(str(path))


def make_folders(sources: list[Path], base: Path) -> tuple[Path, Path]:
    pdf_dir, txt_dir = base / "pdf", base / "txt"
    pdf_dir.mkdir()
    txt_dir.mkdir()
    for number, source in enumerate(sources, start=1):
        text = plain(source.read_text(encoding="utf-8"))
        (txt_dir / f"{source.stem}.txt").write_text(text, encoding="utf-8")
        write_pdf(text, pdf_dir / f"{source.stem}.pdf", number)
    return pdf_dir, txt_dir


def timed_build(corpus: Path, index_dir: Path) -> tuple[int, float, dict[str, float]]:
    """Sentences, seconds and the seconds of each stage of a whole build (stages as `build_and_save` names them)."""
    stages: dict[str, float] = {}
    current = ["start", time.perf_counter()]

    def on_stage(message: str) -> None:
        now = time.perf_counter()
        name = str(current[0])
        stages[name] = stages.get(name, 0.0) + now - float(current[1])
        # the stage's name: its words before the first number or path ("BM25 over 1459 sentences" -> "BM25 over")
        current[:] = [re.sub(r"\s(?:[\d,]+\b|/).*", "", message).strip() or message, now]

    started = time.perf_counter()
    index = build_and_save(corpus, index_dir, on_stage=on_stage, force=True)
    on_stage("done")
    return len(index.sentences), time.perf_counter() - started, stages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus", help="a folder of .txt files to lay out")
    parser.add_argument("--n", type=int, default=20, help="the first N .txt files of it (sorted by name)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of the reading measures (best is kept)")
    parser.add_argument("--no-build", action="store_true", help="reading only: no index build")
    parser.add_argument("--keep", type=Path, default=None, help="write the folders here and keep them")
    args = parser.parse_args()
    sources = sorted(args.corpus.glob("*.txt"))[: args.n]
    if not sources:
        raise SystemExit(f"no .txt files in {args.corpus}")
    print(f"load average before: {os.getloadavg()[0]:.1f}; CPUs: {os.cpu_count()}")
    base = Path(tempfile.mkdtemp(prefix="bench-ingest-")) if args.keep is None else args.keep
    base.mkdir(parents=True, exist_ok=True)
    try:
        started = time.perf_counter()
        pdf_dir, txt_dir = make_folders(sources, base)
        print(f"{len(sources)} documents laid out as PDF and .txt in {time.perf_counter() - started:.1f} s")

        pdf_files = sorted(pdf_dir.glob("*.pdf"))
        best_read = float("inf")
        pages = furniture = 0
        for _ in range(args.rounds):
            started = time.perf_counter()
            read = [read_pdf(path) for path in pdf_files]
            best_read = min(best_read, time.perf_counter() - started)
            pages = sum(len(r.pages) for r in read)
            furniture = sum(len(r.furniture) for r in read)
        print(
            f"PDF reading: {pages} pages in {best_read:.2f} s = {pages / best_read:.0f} pages/s "
            f"({furniture} header/footer lines left out, {furniture / pages:.1f} a page)"
        )
        load_corpus(txt_dir)  # the first read loads the date parser's tables: not part of either figure
        loads = {}
        for name, folder in (("pdf", pdf_dir), ("txt", txt_dir)):
            best = float("inf")
            for _ in range(args.rounds):
                started = time.perf_counter()
                loaded = load_corpus(folder)
                best = min(best, time.perf_counter() - started)
            loads[name] = (loaded, best)
            print(f"load_corpus {name}: {len(loaded.documents)} documents in {best:.2f} s")
        print(f"  ratio pdf/txt of load_corpus: {loads['pdf'][1] / loads['txt'][1]:.1f}x")

        txt_sentences = {
            " ".join(reading_text(d.text[s:e]).split())
            for d in loads["txt"][0].documents
            for s, e in split_sentences(d.text)
        }
        pdf_sentences = {
            " ".join(reading_text(d.text[s:e]).split())
            for d in loads["pdf"][0].documents
            for s, e in split_sentences(d.text)
        }
        same = len(txt_sentences & pdf_sentences)
        print(
            f"sentences: {len(txt_sentences)} distinct in the .txt files, {len(pdf_sentences)} in the PDFs; "
            f"{same} ({100 * same / len(txt_sentences):.1f}%) of the .txt ones word for word in the PDFs"
        )
        if not args.no_build:
            started = time.perf_counter()
            Embedder(DEFAULT_MODEL, DEFAULT_ENCODER).encode(["The model is loaded once, before either build."])
            print(f"model loaded in {time.perf_counter() - started:.1f} s (not part of either build)")
            results = {}
            for name, folder in (("pdf", pdf_dir), ("txt", txt_dir)):
                sentences, seconds, stages = timed_build(folder, base / f"index-{name}" / "index")
                results[name] = seconds
                parts = ", ".join(f"{stage} {t:.1f} s" for stage, t in stages.items() if t >= 0.05)
                print(f"build {name}: {sentences} sentences in {seconds:.1f} s = {sentences / seconds:.0f}/s ({parts})")
            print(f"  ratio pdf/txt of the whole build time: {results['pdf'] / results['txt']:.2f}x")
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
