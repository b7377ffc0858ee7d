"""`qa-assistant serve`: a small HTTP JSON API over one loaded `Assistant`.

    POST /ask     {"question": "...", "k": 6, "mode": "hybrid", "side": ["Armenia"], "since": "2022-01-01", ...}
                  -> the `Answer` JSON (as `qa-assistant ask --json`)
    GET  /health  -> {"status": "ok", "documents": ..., "sentences": ..., "model": ..., "index": ..., "backend": ...}

    GET  /documents             -> [DocumentInfo, ...] every indexed document
    POST /documents             multipart: `files` (one or more) and optional `title`, `publisher`, `side`, `date`,
                                `speaker` -> 202 and the `Job` that stores them in the corpus folder and updates
                                the index in the background
    DELETE /documents/{doc_id}  -> 202 and the `Job` that removes the document (the `doc_id` quotes carry)
    GET  /jobs/{job_id}         -> the `Job`: state, progress, message, then its result or error
    GET  /docs, /openapi.json   -> the OpenAPI description (the page's files are served from here, not fetched)

The fields of /ask are the options of `qa-assistant ask` (`side`, `publisher`, `doc` take a list or one string).
Errors are JSON `{"error": "..."}` with a 4xx status and the CLI's message. Questions are answered on a pool of
`workers` threads sharing the one assistant; it binds 127.0.0.1 unless told otherwise. Writes (POST and DELETE of
/documents) need the token given by `--token` or QA_ASSISTANT_TOKEN, sent as `Authorization: Bearer TOKEN` and
compared in constant time; with no token configured they are refused (403). Questions keep being answered from
the current index while an update runs; the new one answers once it is swapped in.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hmac
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import anyio
from fastapi import Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi_offline import FastAPIOffline
from pydantic import ConfigDict, Field, ValidationError, field_validator
from starlette.exceptions import HTTPException

from qa_assistant.assistant import Assistant
from qa_assistant.errors import QAError, validation_problems
from qa_assistant.limits import UploadLimits
from qa_assistant.models import DocumentInfo, Job, SearchSettings, UploadMetadata

MAX_BODY_BYTES = 1 << 20  # a request body above 1 MiB is refused (413); questions themselves are cut, see README
TOKEN_ENV = "QA_ASSISTANT_TOKEN"
WRITES_OFF = (
    "adding and removing documents is turned off: start the server with --token TOKEN (or set "
    f"{TOKEN_ENV}) and send it as 'Authorization: Bearer TOKEN'"
)


BEARER = HTTPBearer(auto_error=False, description="the server's token (serve --token or QA_ASSISTANT_TOKEN)")


def token_from(value: str | None) -> str | None:
    """The write token: `value` (serve --token), else QA_ASSISTANT_TOKEN; None when neither is set or empty."""
    token = value if value is not None else os.environ.get(TOKEN_ENV)
    return token.strip() or None if token else None


def check_token(expected: str | None, given: str | None) -> tuple[int, str] | None:
    """None when `given` (the Authorization header) carries the `expected` token; else the status and message."""
    if expected is None:
        return 403, WRITES_OFF
    scheme, _, credentials = (given or "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return 401, "this needs the server's token: send 'Authorization: Bearer TOKEN'"
    if not hmac.compare_digest(credentials.strip().encode(), expected.encode()):
        return 401, "wrong token"
    return None


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


def create_api(
    assistant: Assistant,
    workers: int = 4,
    index_dir: str | Path | None = None,
    token: str | None = None,
    limits: UploadLimits | None = None,
) -> FastAPI:
    """The FastAPI application; at most `workers` questions are computed at once, the rest wait their turn.
    `token`: the write token (None: writes refused; `token_from` reads QA_ASSISTANT_TOKEN); `limits`: uploads."""
    limits = limits or UploadLimits()
    app = _docs_app()
    slots = anyio.CapacityLimiter(max(1, workers))
    started = time.time()
    _add_body_limit(app, token, limits)
    writer = _token_check(token)
    _add_error_handlers(app)
    _add_ask_routes(app, assistant, index_dir, slots, started)
    _add_document_routes(app, assistant, writer, limits)
    return app


def _docs_app() -> FastAPI:
    """The application with its OpenAPI page, whose files are served from here (nothing fetched)."""
    return FastAPIOffline(
        title="qa-assistant",
        version="1",
        description="Quoted, attributed answers from a document collection; add and remove its documents.",
        redoc_url=None,
        static_url="/docs-static",
    )


def _add_body_limit(app: FastAPI, token: str | None, limits: UploadLimits) -> None:
    """Refuse writes without the token and bodies above their limit, before a byte of the body is read."""
    upload_bytes = limits.max_files * limits.max_file_bytes + MAX_BODY_BYTES  # the files and the form's fields

    @app.middleware("http")
    async def limit_body(request: Request, call_next):
        writing = request.url.path.startswith("/documents") and request.method in ("POST", "DELETE", "PUT", "PATCH")
        if writing:  # refused before a byte of the body is read
            refused = check_token(token, request.headers.get("authorization"))
            if refused is not None:
                status, message = refused
                headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
                return JSONResponse({"error": message}, status_code=status, headers=headers)
        limit = upload_bytes if writing else MAX_BODY_BYTES
        length = request.headers.get("content-length")
        if writing and request.method == "POST" and length is None:
            return JSONResponse({"error": "send the upload with a Content-Length header"}, status_code=411)
        if length is not None and (not length.isdigit() or int(length) > limit):
            message = f"request body too large: at most {limit} bytes"
            if writing:
                message += (
                    f" ({limits.max_files} files of at most {limits.max_file_bytes / 1048576:g} MiB each per upload)"
                )
            return JSONResponse({"error": message}, status_code=413)
        return await call_next(request)


def _token_check(token: str | None) -> Callable[..., None]:
    """The write routes' dependency that checks the bearer token."""

    def writer(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]) -> None:
        """(Checked by the middleware first; declared here so the OpenAPI page shows the token.)"""
        header = f"{credentials.scheme} {credentials.credentials}" if credentials is not None else None
        refused = check_token(token, header)
        if refused is not None:
            raise HTTPException(status_code=refused[0], detail=refused[1])

    return writer


def _add_error_handlers(app: FastAPI) -> None:
    """Errors as JSON `{"error": "..."}` with a 4xx status."""

    @app.exception_handler(RequestValidationError)
    async def bad_request(_request: Request, exc: RequestValidationError):
        return JSONResponse({"error": f"bad request ({_problems(exc.errors())})"}, status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException):
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)

    @app.exception_handler(QAError)
    async def user_error(_request: Request, exc: QAError):
        return JSONResponse({"error": str(exc)}, status_code=400)


def _add_ask_routes(
    app: FastAPI, assistant: Assistant, index_dir: str | Path | None, slots: anyio.CapacityLimiter, started: float
) -> None:
    """GET /health and POST /ask."""

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


def _add_document_routes(app: FastAPI, assistant: Assistant, writer: Callable[..., None], limits: UploadLimits) -> None:
    """GET, POST and DELETE /documents and GET /jobs/{job_id}."""

    @app.get("/documents", response_model=list[DocumentInfo])
    def documents() -> list[DocumentInfo]:
        """Every document of the index in use (the one questions are answered from)."""
        return assistant.list_documents()

    @app.post("/documents", status_code=202, response_model=Job, dependencies=[Depends(writer)])
    async def add_documents(
        http: Request,
        files: Annotated[list[UploadFile], File(description="one or more documents (txt, md, html, jsonl, pdf, docx)")],
        title: Annotated[str | None, Form(description="title (one file only)")] = None,
        publisher: Annotated[str | None, Form()] = None,
        side: Annotated[str | None, Form(description="the side the documents speak for")] = None,
        date: Annotated[str | None, Form(description="publication date, YYYY-MM-DD")] = None,
        speaker: Annotated[str | None, Form(description="who speaks where the text names nobody")] = None,
    ) -> Response:
        """Store the files in the corpus folder (with their metadata.csv rows) and update the index in the
        background: follow GET /jobs/{id}. Refused at once (4xx): a bad name or type, too many or too big files,
        a name already in the corpus, a bad date."""
        try:
            metadata = UploadMetadata(title=title, publisher=publisher, side=side, date=date, speaker=speaker)
        except ValidationError as exc:
            return JSONResponse({"error": f"bad request ({'; '.join(validation_problems(exc))})"}, status_code=422)
        incoming = [(upload.filename or "", upload.file) for upload in files]
        try:
            job = await anyio.to_thread.run_sync(lambda: assistant.add_documents(incoming, metadata, limits))
        finally:
            for upload in files:
                await upload.close()
        return _accepted(job, http)

    @app.delete("/documents/{doc_id:path}", status_code=202, response_model=Job, dependencies=[Depends(writer)])
    def remove_document(doc_id: str, http: Request) -> Response:
        """Remove a document (its file moves to the corpus's .removed/ folder) and update the index in the
        background: follow GET /jobs/{id}. A .jsonl file's name removes all its records."""
        return _accepted(assistant.remove_document(doc_id), http)

    @app.get("/jobs/{job_id}", response_model=Job)
    def job(job_id: str) -> Job:
        """An update's state (queued, running, done, failed), progress (0-1), message, and result or error."""
        try:
            return assistant.job(job_id)
        except QAError as exc:
            raise HTTPException(status_code=404, detail=str(exc)) from None


def _accepted(job: Job, http: Request) -> Response:
    location = str(http.url_for("job", job_id=job.id).path)
    return Response(
        job.model_dump_json(), status_code=202, media_type="application/json", headers={"Location": location}
    )


def run(args: argparse.Namespace) -> int:
    """Load the index (sizes and checksums verified), warm the model up, then serve until interrupted."""
    import uvicorn

    assistant = Assistant.load(args.index, corpus_dir=args.corpus, verify=True, warm=True)
    t0 = time.perf_counter()
    assistant.ask("warm-up question")
    token = token_from(args.token)
    limits = UploadLimits(max_files=args.max_files, max_file_bytes=int(args.max_file_mb * 1048576))
    writes = f"writes with the token, into {assistant.corpus_dir}" if token else "writes off (no --token)"
    print(
        f"serving {args.index} ({assistant.manifest.sentences} sentences) on http://{args.host}:{args.port} "
        f"(warm-up {1000 * (time.perf_counter() - t0):.0f} ms); POST /ask, GET /health, /documents, /docs; {writes}",
        file=sys.stderr,
        flush=True,
    )
    app = create_api(assistant, workers=args.workers, index_dir=args.index, token=token, limits=limits)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0
