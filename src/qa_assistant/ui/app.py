"""The Gradio chat UI: a thin face over `Assistant.ask()` — no retrieval logic lives here.

Layout: filters (left), the latest answer's timeline (chart, table, a period's quotes), the order of the quotes,
the conversation with its quotes, question box, examples and exports (middle), the document viewer (right). Every text shown comes from `render.py`, which escapes it.
"""

from __future__ import annotations

import atexit
import datetime as dt
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402

from qa_assistant.assistant import Assistant  # noqa: E402
from qa_assistant.errors import QAError  # noqa: E402
from qa_assistant.limits import UploadLimits  # noqa: E402
from qa_assistant.ui import collection, render  # noqa: E402
from qa_assistant.ui import document as document_panel  # noqa: E402
from qa_assistant.ui import timeline as timeline_view  # noqa: E402
from qa_assistant.ui.export import write_exports  # noqa: E402
from qa_assistant.ui.style import CSS, DOCUMENT_JS, PERIOD_JS, TIMELINE_JS, TRANSCRIPT_JS  # noqa: E402

EXAMPLES = [
    "What did each side say about Lachin?",
    "Who is accused of shelling civilian settlements?",
    "What did both sides say about the peacekeeping contingent?",
    "What does Azerbaijan say about its territorial integrity?",
]
MODES = [("Hybrid (BM25 + dense)", "hybrid"), ("BM25 (keywords)", "bm25"), ("Dense (meaning)", "dense")]
DEFAULT_K = 6
MAX_K = 20
MAX_TURNS = 50  # older exchanges drop out of the conversation view
# Questions handled at once (the rest wait in Gradio's queue); the Assistant is shared and thread-safe.
CONCURRENCY = 8


def parse_date(label: str, value: str | None) -> dt.date | None:
    """'' -> None; 'YYYY-MM-DD' -> date; anything else -> QAError naming the field and the format."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise QAError(f"“{label}” must be a date written YYYY-MM-DD, e.g. 2023-09-19 (got “{value}”).") from None


def theme() -> gr.themes.Base:
    """Gradio's default theme with the bundled fonts only (nothing fetched from the network)."""
    return gr.themes.Default(
        primary_hue="indigo",
        neutral_hue="slate",
        font=[gr.themes.LocalFont("IBM Plex Sans", weights=(400, 700)), "system-ui", "sans-serif"],
        font_mono=[gr.themes.LocalFont("IBM Plex Mono", weights=(400, 700)), "ui-monospace", "monospace"],
    )


class ChatUI:
    """Event handlers and layout. The conversation lives in a gr.State, one per browser session."""

    def __init__(
        self,
        assistant: Assistant,
        export_dir: str | Path | None = None,
        examples: list[str] | None = None,
        access: collection.WriteAccess | None = None,
    ):
        self.assistant = assistant
        self.access = access or collection.WriteAccess()
        self.panel = collection.CollectionPanel(assistant, self.access)
        self.sides = assistant.sides
        self.publishers = assistant.publishers
        self.colours = render.side_colours(self.sides)
        self.examples = examples if examples is not None else EXAMPLES
        if export_dir is None:
            export_dir = tempfile.mkdtemp(prefix="qa-exports-")
            atexit.register(shutil.rmtree, export_dir, ignore_errors=True)
        self.export_dir = Path(export_dir)
        self._views = 0

    # ------------------------------------------------------------------------------------ handlers

    def transcript(self, turns: list[render.Turn], order: str = "relevance") -> str:
        if order != "relevance":
            turns = [
                render.Turn(t.question, timeline_view.ordered(t.answer, order), t.error, t.k) if t.answer else t
                for t in turns
            ]
        return render.transcript_html(turns, self.assistant.documents, self.colours, self.examples)

    @staticmethod
    def latest(turns: list[render.Turn] | None) -> render.Turn | None:
        """The last exchange with an answer."""
        return next((turn for turn in reversed(turns or []) if turn.answer is not None), None)

    def timeline_outputs(self, turns: list[render.Turn] | None, timeline_csv: Path | None = None) -> tuple:
        """The timeline panel of the latest answer: (panel, table, chart, period quotes, timeline CSV file)."""
        turn = self.latest(turns)
        timeline = turn.answer.timeline if turn is not None and turn.answer is not None else None
        if turn is None or timeline is None or not (timeline.rows or timeline.undated.count):
            return gr.Column(visible=False), "", None, "", None
        return (
            gr.Column(visible=True),
            timeline_view.table_html(timeline, turn.question),
            timeline_view.figure(timeline, self.colours),
            "",
            str(timeline_csv) if timeline_csv else None,
        )

    def ask(
        self,
        question,
        turns,
        sides,
        publishers,
        since,
        until,
        mode,
        k,
        infer=True,
        unknown_names=False,
        order="relevance",
    ):
        """Answer `question` with the current filters; returns the new transcript, history, exports and the
        answer's timeline panel."""
        answered, files = self.answer(
            question, turns, sides, publishers, since, until, mode, k, infer, unknown_names, order
        )
        if not isinstance(answered[1], list):  # nothing asked
            return (*answered, *(gr.skip() for _ in range(5)))
        return (*answered, *self.timeline_outputs(answered[1], files.get("timeline_csv")))

    def answer(
        self, question, turns, sides, publishers, since, until, mode, k, infer, unknown_names, order
    ) -> tuple[tuple, dict[str, Path]]:
        """The transcript, history and exports after answering `question`, and the files written."""
        question = (question or "").strip()
        if not question:
            gr.Warning("Type a question first.")
            return (gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()), {}
        turns = list(turns or [])
        enabled = any(turn.answer is not None for turn in turns)  # the export buttons already hold an answer
        k = int(k or DEFAULT_K)
        try:
            first, last = parse_date("From", since), parse_date("To", until)
            answer = self.assistant.ask(
                question,
                k=k,
                mode=mode or "hybrid",
                sides=list(sides or []) or None,
                publishers=list(publishers or []) or None,
                since=first,
                until=last,
                infer=bool(infer),
                answer_unknown_names=bool(unknown_names),
            )
        except QAError as exc:
            turns.append(render.Turn(question=question, error=str(exc)))
            turns = turns[-MAX_TURNS:]
            return (self.transcript(turns, order), turns, "", gr.skip(), gr.skip(), gr.skip(), gr.skip()), {}
        turns.append(render.Turn(question=question, answer=answer, k=k))
        turns = turns[-MAX_TURNS:]
        files = write_exports(answer, self.export_dir)
        n = len(answer.quotes)
        caption = (
            f'<div class="qa-export-caption" title="{render.esc(question)}"><b>Export answer</b>'
            f"<span>{n} quote{'s' if n != 1 else ''}</span></div>"
        )
        kinds = ("md", "csv", "json")
        buttons: list[str | gr.DownloadButton]
        if enabled:  # a plain value: a component update costs Gradio a config rebuild on every answer
            buttons = [str(files[kind]) for kind in kinds]
        else:
            buttons = [gr.DownloadButton(value=str(files[kind]), interactive=True) for kind in kinds]
        return (self.transcript(turns, order), turns, "", *buttons, caption), files

    def ask_example(
        self, turns, sides, publishers, since, until, mode, k, infer, unknown_names, order, evt: gr.EventData
    ):
        """An example question clicked in the welcome card, asked with the current filters."""
        question = str((getattr(evt, "_data", None) or {}).get("question") or "")
        return self.ask(question, turns, sides, publishers, since, until, mode, k, infer, unknown_names, order)

    def open_period(self, turns, evt: gr.EventData) -> str:
        """The quotes of a clicked mark (or table button) of the latest answer's timeline."""
        data = getattr(evt, "_data", None) or {}
        turn = self.latest(turns)
        side, period = str(data.get("side") or ""), str(data.get("period") or "")
        if turn is None or turn.answer is None or not side or not period:
            return ""
        try:
            quotes = self.assistant.period_quotes(turn.answer, side, period)
        except QAError as exc:
            return f'<p class="qa-note">{render.esc(exc)}</p>'
        return timeline_view.period_html(turn.answer, side, period, quotes, self.colours)

    def show_document(self, evt: gr.EventData) -> str:
        """The document of a clicked quote, with the quoted characters highlighted."""
        data = getattr(evt, "_data", None) or {}
        doc_id = data.get("doc_id")
        try:
            doc = self.assistant.document(str(doc_id))
        except QAError as exc:
            return document_panel.document_placeholder(str(exc))
        start: int | None
        end: int | None
        try:
            start, end = int(data["start"]), int(data["end"])
        except (KeyError, TypeError, ValueError):
            start = end = None
        self._views += 1
        pdf = self.assistant.source_file(doc) if doc.page_map else None
        return document_panel.document_html(doc, start, end, nonce=self._views, pdf_path=pdf)

    def _collection_changed(self, job):
        """The outputs once a job is finished: status, header, document list and choices, cleared files, filters."""
        status = collection.status_html(job)
        if job.state != "done":
            return status, gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        self.sides = self.assistant.sides
        self.publishers = self.assistant.publishers
        self.colours = render.side_colours(self.sides)
        documents = self.assistant.list_documents()
        return (
            status,
            self.header_html(),
            collection.documents_html(documents),
            gr.Dropdown(choices=collection.document_choices(documents), value=None),
            None,
            gr.CheckboxGroup(choices=self.sides),
            gr.Dropdown(choices=self.publishers),
        )

    def add_documents(self, files, side, publisher, date, speaker, token):
        """Start adding the dropped files; the status shows the update's progress until the new index is in."""
        yield from self._follow(lambda: self.panel.start_add(files, side, publisher, date, speaker, token))

    def remove_document(self, doc_id, token):
        yield from self._follow(lambda: self.panel.start_remove(doc_id, token))

    def _follow(self, start):
        """Start a collection job (`start`), then show its progress until the new index is in (or its error)."""
        skip = (gr.skip(),) * 6
        try:
            job = start()
        except QAError as exc:
            yield collection.status_html(error=str(exc)), *skip
            return
        for state in self.panel.follow(job):
            if state.finished:
                yield self._collection_changed(state)
            else:
                yield collection.status_html(state), *skip

    def clear(self):
        empty = [gr.DownloadButton(value=None, interactive=False) for _ in range(3)]
        return (
            self.transcript([]),
            [],
            document_panel.document_placeholder(),
            *empty,
            _EXPORT_IDLE,
            *self.timeline_outputs([]),
        )

    # -------------------------------------------------------------------------------------- layout

    def header_html(self) -> str:
        m = self.assistant.manifest
        built = m.created_at.strftime("%Y-%m-%d %H:%M UTC") if m.created_at else "unknown"
        return (
            '<header class="qa-header"><div class="qa-logo" aria-hidden="true">❝</div>'
            '<div class="qa-brand"><h1>Quoted answers</h1>'
            "<p>Questions answered with verbatim, attributed sentences from the documents — never generated text.</p>"
            f'</div><div class="qa-index-info"><b>{m.documents}</b> documents · <b>{m.sentences}</b> sentences'
            f"<br><span>index built {render.esc(built)} · {render.esc(m.model)}</span></div></header>"
        )

    def build(self) -> gr.Blocks:
        with gr.Blocks(title="Quoted answers", analytics_enabled=False, fill_width=True) as demo:
            parts: dict[str, Any] = {"turns": gr.State([])}
            parts["header"] = gr.HTML(self.header_html(), apply_default_css=False, js_on_load=None, elem_id="qa-header")
            with gr.Row(equal_height=False, elem_id="qa-main"):
                with gr.Column(scale=2, min_width=250, elem_id="qa-filters"):
                    parts.update(self.filters_panel())
                    parts["manage"] = self.collection_panel()
                with gr.Column(scale=6, min_width=420, elem_id="qa-chat"):
                    parts.update(self.timeline_panel())
                    parts.update(self.answer_area())
                    parts.update(self.question_box())
                    parts.update(self.export_row())
                with gr.Column(scale=4, min_width=340, elem_id="qa-doc-col"):
                    parts["document"] = self.document_column()
            self.wire_events(parts)
        return demo

    def filters_panel(self) -> dict[str, Any]:
        """The filters applied to the next question and the button that resets them; its components by name."""
        gr.HTML(
            '<div class="qa-panel-h"><h2>Filters</h2><p>Apply to the next question and are shown '
            "above each answer.</p></div>",
            apply_default_css=False,
            js_on_load=None,
        )
        parts: dict[str, Any] = {}
        parts["sides"] = gr.CheckboxGroup(self.sides, label="Sides", info="None ticked: all sides", elem_id="qa-sides")
        parts["publishers"] = gr.Dropdown(
            self.publishers,
            multiselect=True,
            label="Publishers",
            info="Empty: all publishers",
            elem_id="qa-publishers",
        )
        with gr.Row():
            parts["since"] = gr.Textbox(
                label="From", placeholder="YYYY-MM-DD", max_lines=1, min_width=100, elem_id="qa-since"
            )
            parts["until"] = gr.Textbox(
                label="To", placeholder="YYYY-MM-DD", max_lines=1, min_width=100, elem_id="qa-until"
            )
        parts["mode"] = gr.Dropdown(
            MODES,
            value="hybrid",
            label="Retrieval",
            elem_id="qa-mode",
            info="How candidate sentences are found",
        )
        parts["k"] = gr.Slider(1, MAX_K, value=DEFAULT_K, step=1, label="Number of quotes", elem_id="qa-k")
        parts["infer"] = gr.Checkbox(
            value=True,
            label="Read dates, sides and speakers from the question",
            info="“in July 2023”, “What did Azerbaijan say …”; the filters above win",
            elem_id="qa-infer",
        )
        parts["unknown_names"] = gr.Checkbox(
            value=False,
            label="Answer even when a name is in no document",
            info="Otherwise the answer says “No document mentions …”; with this, it quotes what "
            "matches the rest of the question and says so",
            elem_id="qa-unknown-names",
        )
        parts["reset"] = gr.Button("Reset filters", size="sm", variant="secondary", elem_id="qa-reset")
        return parts

    def timeline_panel(self) -> dict[str, Any]:
        """The latest answer's timeline: table, chart, a period's quotes and its CSV; its components by name."""
        parts: dict[str, Any] = {}
        with gr.Column(visible=False, elem_id="qa-timeline-panel") as parts["timeline_panel"]:
            parts["timeline_table"] = gr.HTML(
                "", apply_default_css=False, js_on_load=TIMELINE_JS, elem_id="qa-timeline"
            )
            parts["chart"] = gr.Plot(show_label=False, container=False, elem_id="qa-timeline-chart")
            parts["period"] = gr.HTML("", apply_default_css=False, js_on_load=PERIOD_JS, elem_id="qa-period")
            parts["timeline_csv"] = gr.DownloadButton(
                "Timeline CSV", size="sm", scale=0, min_width=120, elem_id="qa-export-timeline"
            )
        return parts

    def answer_area(self) -> dict[str, Any]:
        """The order of the quotes and the conversation with its quotes; its components by name."""
        order = gr.Radio(
            timeline_view.ORDERS,
            value="relevance",
            label="Order of quotes",
            elem_id="qa-order",
            container=False,
        )
        transcript = gr.HTML(
            self.transcript([]),
            apply_default_css=False,
            js_on_load=TRANSCRIPT_JS,
            elem_id="qa-transcript",
        )
        return {"order": order, "transcript": transcript}

    def question_box(self) -> dict[str, Any]:
        """The question's text box and the Ask button; its components by name."""
        with gr.Row(elem_id="qa-ask-row", equal_height=True):
            question = gr.Textbox(
                show_label=False,
                placeholder="Ask a question about the documents…",
                lines=1,
                max_lines=4,
                scale=6,
                autofocus=True,
                elem_id="qa-question",
                container=False,
            )
            ask = gr.Button("Ask", variant="primary", scale=1, min_width=90, elem_id="qa-ask")
        return {"question": question, "ask": ask}

    def export_row(self) -> dict[str, Any]:
        """The export caption and buttons, and the "New conversation" button; its components by name."""
        parts: dict[str, Any] = {}
        with gr.Row(elem_id="qa-export", equal_height=True):
            parts["caption"] = gr.HTML(
                _EXPORT_IDLE,
                apply_default_css=False,
                js_on_load=None,
                scale=3,
                min_width=120,
                elem_id="qa-export-caption",
            )
            parts["md"] = gr.DownloadButton(
                "Markdown", size="sm", interactive=False, scale=0, min_width=100, elem_id="qa-export-md"
            )
            parts["csv"] = gr.DownloadButton(
                "CSV", size="sm", interactive=False, scale=0, min_width=80, elem_id="qa-export-csv"
            )
            parts["js"] = gr.DownloadButton(
                "JSON", size="sm", interactive=False, scale=0, min_width=80, elem_id="qa-export-json"
            )
            parts["clear"] = gr.Button(
                "New conversation",
                size="sm",
                variant="secondary",
                scale=0,
                min_width=130,
                elem_id="qa-clear",
            )
        return parts

    def document_column(self) -> gr.HTML:
        """The document viewer."""
        return gr.HTML(
            document_panel.document_placeholder(),
            apply_default_css=False,
            js_on_load=DOCUMENT_JS,
            elem_id="qa-document",
        )

    def wire_events(self, parts: dict[str, Any]) -> None:
        """Connect the components' events to the handlers."""
        p = parts
        turns, transcript, period, manage = p["turns"], p["transcript"], p["period"], p["manage"]
        names = ("sides", "publishers", "since", "until", "mode", "k", "infer", "unknown_names")
        filters = [p[name] for name in names]
        panel = [p[name] for name in ("timeline_panel", "timeline_table", "chart", "period", "timeline_csv")]
        exports = [p["md"], p["csv"], p["js"], p["caption"]]
        outputs = [transcript, turns, p["question"], *exports, *panel]
        asked = [p["question"], turns, *filters, p["order"]]
        p["ask"].click(self.ask, asked, outputs, show_progress="minimal")
        p["question"].submit(self.ask, asked, outputs, show_progress="minimal")
        transcript.ask_example(self.ask_example, [turns, *filters, p["order"]], outputs, show_progress="minimal")
        transcript.show_doc(self.show_document, None, p["document"], show_progress="hidden")
        p["timeline_table"].open_period(self.open_period, [turns], period, show_progress="minimal")
        period.show_doc(self.show_document, None, p["document"], show_progress="hidden")
        period.close_period(lambda: "", None, period, show_progress="hidden")
        p["order"].change(self.transcript, [turns, p["order"]], transcript, show_progress="hidden")
        p["clear"].click(self.clear, None, [transcript, turns, p["document"], *exports, *panel])
        p["reset"].click(lambda: ([], [], "", "", "hybrid", DEFAULT_K, True, False), None, filters)
        changed = [manage["status"], p["header"], manage["list"], manage["pick"], manage["files"]]
        changed += [p["sides"], p["publishers"]]
        metadata = [manage[name] for name in ("side", "publisher", "date", "speaker", "token")]
        manage["add"].click(self.add_documents, [manage["files"], *metadata], changed, show_progress="hidden")
        manage["remove"].click(self.remove_document, [manage["pick"], manage["token"]], changed, show_progress="hidden")

    def collection_panel(self) -> dict[str, Any]:
        """The "Add documents" panel (see collection.py); its components by name."""
        documents = self.assistant.list_documents()
        off = not self.access.enabled
        parts: dict[str, Any] = {}
        with gr.Accordion("Add documents", open=False, elem_id="qa-add"):
            gr.HTML(
                '<div class="qa-panel-h"><p>Files are stored in the corpus folder and the index is updated in the '
                "background; questions are answered meanwhile. Types: "
                f"{render.esc(collection_types())}.</p></div>",
                apply_default_css=False,
                js_on_load=None,
            )
            parts["files"] = gr.File(
                label="Files",
                file_count="multiple",
                type="filepath",
                interactive=not off,
                elem_id="qa-upload-files",
            )
            parts["side"] = gr.Textbox(label="Side", max_lines=1, elem_id="qa-upload-side")
            parts["publisher"] = gr.Textbox(label="Publisher", max_lines=1, elem_id="qa-upload-publisher")
            parts["date"] = gr.Textbox(label="Date", placeholder="YYYY-MM-DD", max_lines=1, elem_id="qa-upload-date")
            parts["speaker"] = gr.Textbox(label="Speaker", max_lines=1, elem_id="qa-upload-speaker")
            parts["token"] = gr.Textbox(
                label="Token",
                type="password",
                max_lines=1,
                visible=self.access.needs_token and not off,
                elem_id="qa-upload-token",
            )
            parts["add"] = gr.Button("Add to the collection", size="sm", interactive=not off, elem_id="qa-upload-add")
            idle = collection.status_html(error=self.access.refusal(None)) if off else collection.status_html()
            parts["status"] = gr.HTML(idle, apply_default_css=False, js_on_load=None, elem_id="qa-upload-status")
            with gr.Accordion("Documents", open=False, elem_id="qa-doc-panel"):
                parts["list"] = gr.HTML(
                    collection.documents_html(documents),
                    apply_default_css=False,
                    js_on_load=None,
                    elem_id="qa-doc-list",
                )
                parts["pick"] = gr.Dropdown(
                    collection.document_choices(documents),
                    label="Remove a document",
                    interactive=not off,
                    elem_id="qa-doc-pick",
                )
                parts["remove"] = gr.Button(
                    "Remove", size="sm", variant="stop", interactive=not off, elem_id="qa-doc-remove"
                )
        return parts


def collection_types() -> str:
    from qa_assistant.ingest.uploads import allowed_types

    return allowed_types()


_EXPORT_IDLE = '<div class="qa-export-caption"><b>Export answer</b><span>ask a question first</span></div>'


def create_app(assistant: Assistant, **kwargs) -> gr.Blocks:
    return ChatUI(assistant, **kwargs).build()


def serve(
    assistant: Assistant,
    host: str = "127.0.0.1",
    port: int | None = None,
    share: bool = False,
    token: str | None = None,
    **launch_kwargs,
):
    """Warm the model up (so the first question is fast), then serve the UI until interrupted. `token`: what the
    "Add documents" panel asks for when the app is not bound to 127.0.0.1 (or shared); without one it is read-only
    there."""
    started = time.perf_counter()
    assistant.ask(EXAMPLES[0])
    warm_ms = (time.perf_counter() - started) * 1000
    access = collection.WriteAccess.for_host("0.0.0.0" if share else host, token)
    demo = create_app(assistant, access=access)
    demo.queue(default_concurrency_limit=CONCURRENCY)
    print(f"ready (warm-up question answered in {warm_ms:.0f} ms)", flush=True)
    return demo.launch(
        server_name=host,
        server_port=port,
        share=share,
        theme=theme(),
        css=CSS,
        footer_links=[],
        run_history=False,
        show_error=True,
        max_file_size=UploadLimits().max_file_bytes,  # (the panel's files are refused by Gradio above it)
        **launch_kwargs,
    )
