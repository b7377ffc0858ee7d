"""`qa-assistant serve`: a small HTTP JSON API over one loaded `Assistant`.

    POST /ask     {"question": "...", "k": 6, "mode": "hybrid", "side": ["Armenia"], "since": "2022-01-01", ...}
                  -> the `Answer` JSON (as `qa-assistant ask --json`)
    GET  /health  -> {"status": "ok", "documents": ..., "sentences": ..., "model": ..., "index": ..., "backend": ...}

The fields of /ask are the options of `qa-assistant ask` (`side`, `publisher`, `doc` take a list or one string).
Errors are JSON `{"error": "..."}` with a 4xx status and the CLI's message. Questions are answered on a pool of
`workers` threads sharing the one assistant; it binds 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ConfigDict, Field, ValidationError, field_validator
from starlette.exceptions import HTTPException

from qa_assistant.assistant import Assistant
from qa_assistant.errors import QAError
from qa_assistant.models import SearchSettings

MAX_BODY_BYTES = 1 << 20  # a request body above 1 MiB is refused (413); questions themselves are cut, see README


class AskRequest(SearchSettings):
    """The body of POST /ask: the options of `qa-assistant ask` (the search settings are `SearchSettings`' own)."""

    model_config = ConfigDict(extra="forbid")

    question: str
    k: int = 6
    min_similarity: float | None = None
    side: list[str] | str | None = Field(None, description="only these sides")
    publisher: list[str] | str | None = None
    doc: list[str] | str | None = None
    speaker: list[str] | str | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    no_infer: bool = Field(False, description="do not read a period, side or speaker from the question itself")
    answer_unknown_names: bool = False

    @field_validator("since", "until", mode="before")
    @classmethod
    def _date(cls, value: Any) -> Any:
        if isinstance(value, str) and value:
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                raise ValueError(f"'{value}' is not a date: use YYYY-MM-DD") from None
        return value


def _as_list(value: list[str] | str | None) -> list[str] | None:
    return [value] if isinstance(value, str) else value


def _problems(errors: Any) -> str:
    lines = []
    for error in errors:
        where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
        message = str(error.get("msg", "")).removeprefix("Value error, ")
        lines.append(f"{where}: {message}" if where else message)
    return "; ".join(lines)


def create_api(assistant: Assistant, workers: int = 4, index_dir: str | Path | None = None) -> FastAPI:
    """The FastAPI application; at most `workers` questions are computed at once, the rest wait their turn."""
    app = FastAPI(title="qa-assistant", version="1", docs_url=None, redoc_url=None, openapi_url=None)
    slots = anyio.CapacityLimiter(max(1, workers))
    started = time.time()

    @app.middleware("http")
    async def limit_body(request: Request, call_next):
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            return JSONResponse(
                {"error": f"request body too large: at most {MAX_BODY_BYTES} bytes"},
                status_code=413,
            )
        return await call_next(request)

    @app.exception_handler(RequestValidationError)
    async def bad_request(_request: Request, exc: RequestValidationError):
        return JSONResponse({"error": f"bad request ({_problems(exc.errors())})"}, status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException):
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)

    @app.exception_handler(QAError)
    async def user_error(_request: Request, exc: QAError):
        return JSONResponse({"error": str(exc)}, status_code=400)

    @app.get("/health")
    def health() -> dict[str, Any]:
        m = assistant.manifest
        return {
            "status": "ok",
            "documents": m.documents,
            "sentences": m.sentences,
            "model": m.model,
            "index": str(index_dir) if index_dir else None,
            "index_created_at": m.created_at.isoformat(),
            "backend": m.backend.kind if m.backend.milvus is None else f"milvus {m.backend.milvus.collection}",
            "uptime_s": round(time.time() - started, 1),
        }

    def answer(request: AskRequest) -> str:
        return assistant.ask(
            request.question,
            k=request.k,
            settings=SearchSettings.model_validate(request.model_dump(include=set(SearchSettings.model_fields))),
            min_similarity=request.min_similarity,
            sides=_as_list(request.side),
            publishers=_as_list(request.publisher),
            doc_ids=_as_list(request.doc),
            speakers=_as_list(request.speaker),
            since=request.since,
            until=request.until,
            infer=not request.no_infer,
            answer_unknown_names=request.answer_unknown_names,
        ).model_dump_json()

    @app.post("/ask")
    async def ask(http: Request) -> Response:
        body = await http.body()  # JSON whatever the content type says
        if len(body) > MAX_BODY_BYTES:
            return JSONResponse({"error": f"request body too large: at most {MAX_BODY_BYTES} bytes"}, status_code=413)
        try:
            request = AskRequest.model_validate_json(body)
        except ValidationError as exc:
            return JSONResponse({"error": f"bad request ({_problems(exc.errors())})"}, status_code=422)
        # Computed on a worker thread, at most `workers` at once; the one assistant is shared (see Retriever).
        text = await anyio.to_thread.run_sync(answer, request, limiter=slots)
        return Response(text, media_type="application/json")

    return app


def run(args: argparse.Namespace) -> int:
    """Load the index (sizes and checksums verified), warm the model up, then serve until interrupted."""
    import uvicorn

    assistant = Assistant.load(args.index, corpus_dir=args.corpus, verify=True)
    t0 = time.perf_counter()
    assistant.ask("warm-up question")
    print(
        f"serving {args.index} ({assistant.manifest.sentences} sentences) on http://{args.host}:{args.port} "
        f"(warm-up {1000 * (time.perf_counter() - t0):.0f} ms); POST /ask, GET /health",
        file=sys.stderr,
        flush=True,
    )
    app = create_api(assistant, workers=args.workers, index_dir=args.index)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0
