"""Prepare the UN General Debate corpus (1946–2019) as a qa-assistant corpus folder.

    python eval/datasets/ungdc.py --out ungdc                       # every session (9,989 speeches)
    python eval/datasets/ungdc.py --out ungdc-7374 --sessions 73,74  # a subset: sessions, or ranges like 70-74
    python eval/datasets/ungdc.py --out ungdc-2010s --years 2010-2019
    python eval/datasets/ungdc.py --out ungdc-dev --split dev        # the dev split of eval/ungdc.jsonl
    qa-assistant index ungdc --index ungdc-index

The folder gets one text file per speech (`ISO_SESSION_YEAR.txt`, the text as in the archive, re-encoded to
UTF-8 where needed), `metadata.csv` (title, publisher, side, date, speaker) and `sides.json` (every member state with
its common short names). Conventions:
- speaker: "<name>, <post>" from the spreadsheet (who speaks in every sentence that names nobody else);
- title: "<state>, General Debate, session <N> (<year>) — <speaker>, <post>" (speaker and post from the
  spreadsheet when it has them);
- publisher: "United Nations General Assembly" (the speeches are its verbatim records);
- side: the member state (or observer) that spoke, by a short common name (`un_states.py`); the USSR's
  speeches up to 1991 (filed under RUS) are side "Soviet Union";
- date: <year>-09-15 for every speech of a session. The archive gives the session and year only, not the day;
  the General Debate opens in the second half of September in almost every year, so a date filter by year
  (--since 2001-01-01 --until 2001-12-31) selects the right sessions.
Splits (--split): "dev" is sessions 72, 73 and 74 (2017-2019), the speeches eval/ungdc.jsonl is judged on.
The folder is written next to its target and renamed into place, so an interrupted run leaves no half corpus.
Needs openpyxl (pip install -e ".[eval]").
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import shutil
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from un_states import ERA_SIDES, NOT_STATES, SPREADSHEET_CODES, STATES, side_name  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "ungdc"
DEFAULT_ARCHIVE = SHARED / "ungdc-1946-2019.tar.gz"
DEFAULT_SPEAKERS = SHARED / "Speakers_by_session.xlsx"
PUBLISHER = "United Nations General Assembly"
DATE_CONVENTION = "{year}-09-15"
SPLITS = {"dev": "72,73,74"}  # --split NAME = --sessions SPLITS[NAME]
MEMBER = re.compile(r"(?:^|/)Session (\d+) - (\d{4})/([A-Z]{2,4})_(\d+)_(\d{4})\.txt$")


class PrepareError(Exception):
    """A problem the user can fix: printed as one `error:` line."""


@dataclass(frozen=True)
class Speaker:
    name: str | None
    post: str | None


def parse_numbers(text: str, option: str) -> set[int]:
    """'73,74' or '70-74' or '1,70-74' -> the numbers."""
    numbers: set[int] = set()
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        match = re.fullmatch(r"(\d+)(?:\s*-\s*(\d+))?", part)
        if not match:
            raise PrepareError(f"{option} takes numbers and ranges such as 73,74 or 70-74 (got '{text}')")
        lo, hi = int(match[1]), int(match[2] or match[1])
        if hi < lo:
            raise PrepareError(f"{option}: the range {part} is empty")
        numbers.update(range(lo, hi + 1))
    if not numbers:
        raise PrepareError(f"{option} is empty")
    return numbers


def _cell(value: object) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text or None


def read_speakers(path: Path) -> dict[tuple[int, str], Speaker]:
    """(session, ISO code) -> speaker and post, from the spreadsheet's first sheet."""
    try:
        import openpyxl
    except ImportError:
        raise PrepareError('reading the speaker spreadsheet needs openpyxl: pip install -e ".[eval]"') from None
    if not path.is_file():
        raise PrepareError(f"speaker spreadsheet {path} not found (pass --speakers PATH)")
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several kinds for a file that is not a workbook
        raise PrepareError(f"{path} is not a readable .xlsx workbook ({exc})") from None
    rows = book.worksheets[0].iter_rows(values_only=True)
    header = [(_cell(h) or "").lower() for h in next(rows, ())]
    needed = {"session": "session", "iso code": "iso", "name of person speaking": "name", "post": "post"}
    missing = [h for h in needed if h not in header]
    if missing:
        raise PrepareError(f"{path}: the first sheet has no column {', '.join(repr(m) for m in missing)}")
    column = {needed[h]: header.index(h) for h in needed}
    speakers: dict[tuple[int, str], Speaker] = {}
    for row in rows:
        try:
            session = int(str(row[column["session"]]).strip())
        except (TypeError, ValueError, IndexError):
            continue
        code = _cell(row[column["iso"]])
        if not code:
            continue
        code = SPREADSHEET_CODES.get(code.upper(), code.upper())
        speakers.setdefault((session, code), Speaker(_cell(row[column["name"]]), _cell(row[column["post"]])))
    book.close()
    return speakers


def decode(data: bytes) -> tuple[str, bool]:
    """The text of a speech; True when it was not UTF-8 (read as Windows-1252)."""
    try:
        return data.decode("utf-8-sig"), False
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), True


def speaker_of(speaker: Speaker | None) -> str:
    """The `speaker` column: "<name>, <post>" (empty when the spreadsheet names nobody: the state then speaks)."""
    if not speaker or not speaker.name:
        return ""
    return speaker.name + (f", {speaker.post}" if speaker.post else "")


def title_of(side: str, session: int, year: int, speaker: Speaker | None) -> str:
    title = f"{side}, General Debate, session {session} ({year})"
    if speaker and speaker.name:
        title += f" — {speaker.name}" + (f", {speaker.post}" if speaker.post else "")
    return title


def sides_config() -> dict:
    sides: dict[str, dict] = {}
    for code, (name, aliases) in STATES.items():
        sides[name] = {"party": True, "aliases": sorted(set(aliases), key=str.lower), "publishers": []}
        if code in NOT_STATES:
            sides[name]["note"] = NOT_STATES[code]
    for name, aliases in ERA_SIDES.items():
        sides[name] = {"party": True, "aliases": aliases, "publishers": []}
    return {
        "description": (
            "Member states (and observers) speaking at the UN General Debate, 1946-2019. 'aliases': other names "
            "of the state in questions and speakers' names (whole words, case-insensitive; the longest wins). "
            "Prepared by eval/datasets/ungdc.py."
        ),
        "sides": sides,
    }


def prepare(
    archive: Path,
    speakers_path: Path,
    out: Path,
    sessions: set[int] | None = None,
    years: set[int] | None = None,
    countries: set[str] | None = None,
) -> dict[str, int]:
    """Write the corpus folder `out` (replacing it atomically); returns counts."""
    if not archive.is_file():
        raise PrepareError(f"archive {archive} not found (pass --archive PATH)")
    speakers = read_speakers(speakers_path)
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    counts = {"speeches": 0, "without_speaker": 0, "not_utf8": 0, "ignored_files": 0, "unknown_codes": 0}
    rows: list[dict[str, str]] = []
    try:
        try:
            tar = tarfile.open(archive, "r:*")  # noqa: SIM115 (closed by the with block below)
        except (tarfile.TarError, OSError) as exc:
            raise PrepareError(f"{archive} is not a readable tar archive ({exc})") from None
        with tar:
            for member in tar:
                if not member.isfile():
                    continue
                match = MEMBER.search(member.name)
                if not match or Path(member.name).name.startswith("."):
                    counts["ignored_files"] += 1
                    continue
                session, year, code = int(match[1]), int(match[2]), match[3]
                if sessions and session not in sessions or years and year not in years:
                    continue
                if countries and code not in countries:
                    continue
                if code not in STATES:
                    counts["unknown_codes"] += 1  # kept, with the code as its side
                handle = tar.extractfile(member)
                if handle is None:
                    continue
                text, fallback = decode(handle.read())
                counts["not_utf8"] += fallback
                name = f"{code}_{session:02d}_{year}.txt"
                (tmp / name).write_text(text, encoding="utf-8")
                speaker = speakers.get((session, code))
                counts["without_speaker"] += not (speaker and speaker.name)
                side = side_name(code, session)
                rows.append(
                    {
                        "file": name,
                        "title": title_of(side, session, year, speaker),
                        "publisher": PUBLISHER,
                        "side": side,
                        "date": DATE_CONVENTION.format(year=year),
                        "url": "",
                        "speaker": speaker_of(speaker),
                    }
                )
        if not rows:
            raise PrepareError(f"no speech in {archive} matches the selection (sessions, years, countries)")
        rows.sort(key=lambda r: r["file"])
        with (tmp / "metadata.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=["file", "title", "publisher", "side", "date", "url", "speaker"])
            writer.writeheader()
            writer.writerows(rows)
        (tmp / "sides.json").write_text(json.dumps(sides_config(), indent=2, ensure_ascii=False), encoding="utf-8")
        counts["speeches"] = len(rows)
        old = None
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            old.rmdir()
            out.rename(old)
        tmp.chmod(0o755)
        tmp.rename(out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="corpus folder to write (replaced if it exists)")
    parser.add_argument("--archive", default=str(DEFAULT_ARCHIVE), help=f"the tarball (default {DEFAULT_ARCHIVE})")
    parser.add_argument("--speakers", default=str(DEFAULT_SPEAKERS), help="Speakers_by_session.xlsx")
    parser.add_argument("--sessions", help="only these sessions, e.g. 73,74 or 70-74")
    parser.add_argument("--split", choices=sorted(SPLITS), help="a named split: dev = sessions 72-74 (2017-2019)")
    parser.add_argument("--years", help="only these years, e.g. 2019 or 2010-2019")
    parser.add_argument("--countries", help="only these ISO codes, e.g. USA,RUS,IRN")
    args = parser.parse_args(argv)
    if args.split:
        if args.sessions:
            parser.error("give --split or --sessions, not both")
        args.sessions = SPLITS[args.split]
    try:
        counts = prepare(
            Path(args.archive),
            Path(args.speakers),
            Path(args.out),
            sessions=parse_numbers(args.sessions, "--sessions") if args.sessions else None,
            years=parse_numbers(args.years, "--years") if args.years else None,
            countries={c.strip().upper() for c in args.countries.split(",") if c.strip()} if args.countries else None,
        )
    except PrepareError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"wrote {counts['speeches']} speeches to {args.out} "
        f"({counts['without_speaker']} without a speaker in the spreadsheet, {counts['not_utf8']} re-encoded "
        f"from Windows-1252, {counts['unknown_codes']} with an unknown state code, "
        f"{counts['ignored_files']} other files in the archive ignored)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
