"""The "Over time" panel: an answer's `Timeline` as a Plotly chart (one row per side, one mark per period, its area
the number of statements), the same as a table (the chart's text alternative, each count a button), the quotes of
one period, and the order of an answer's quotes.

Plotly because Gradio's `gr.Plot` draws its figures in the browser with the plotly.js it bundles (nothing fetched),
marks can be sized by a value (the native `gr.ScatterPlot` has no size channel), and the drawn chart is a
`.js-plotly-plot` element whose `plotly_click` event says which mark was clicked (the panel's script forwards it).
Its texts and grid take the page's theme colours from CSS (style.py), so the chart follows dark and light mode.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import plotly.graph_objects as go

from qa_assistant.models import Answer, Quote, Timeline
from qa_assistant.ui.render import NEUTRAL_COLOUR, esc, quote_html

ORDERS = [("Most relevant", "relevance"), ("Newest first", "newest"), ("Oldest first", "oldest")]
MARK_PIXELS = 26  # diameter of the mark of the largest count
ROW_PIXELS = 34
MAX_LABEL = 28  # longer row names are cut in the chart (the table has them whole)


def period_start(period: str) -> str:
    """The first day of a period written YYYY, YYYY-MM or YYYY-MM-DD, for a date axis."""
    parts = period.split("-")
    year = int(parts[0])
    month = int(parts[1]) if len(parts) > 1 else 1
    day = int(parts[2]) if len(parts) > 2 else 1
    return dt.date(year, month, day).isoformat()


def _label(name: str) -> str:
    return name if len(name) <= MAX_LABEL else name[: MAX_LABEL - 1] + "…"


def figure(timeline: Timeline, colours: Mapping[str, str] | None = None) -> go.Figure:
    """One row per side (or speaker), top to bottom in the timeline's order; one mark per period with statements,
    its area proportional to their number; the row's undated statements are not on the time axis."""
    colours = colours or {}
    largest = max((cell.count for row in timeline.rows for cell in row.cells), default=1)
    fig = go.Figure()
    labels = [_label(row.side) for row in timeline.rows]
    for row, label in zip(timeline.rows, labels):
        if not row.cells:
            continue
        unit = "statement" if row.count == 1 else "statements"
        fig.add_trace(
            go.Scatter(
                x=[period_start(cell.period) for cell in row.cells],
                y=[label] * len(row.cells),
                mode="markers",
                name=row.side,
                marker={
                    "size": [cell.count for cell in row.cells],
                    "sizemode": "area",
                    "sizeref": 2.0 * largest / MARK_PIXELS**2,
                    "sizemin": 4,
                    "color": colours.get(row.side, NEUTRAL_COLOUR),
                    "opacity": 0.85,
                    "line": {"width": 0},
                },
                customdata=[[row.side, cell.period, cell.count] for cell in row.cells],
                hovertemplate="%{customdata[0]} · %{customdata[1]}: %{customdata[2]} " + unit + "<extra></extra>",
            )
        )
    tick = {"year": "%Y", "month": "%b %Y", "day": "%d %b %Y"}[timeline.granularity]
    fig.update_layout(
        height=70 + ROW_PIXELS * max(1, len(timeline.rows)),
        margin={"l": 8, "r": 16, "t": 8, "b": 30},
        showlegend=False,
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        hovermode="closest",
        clickmode="event",
        dragmode=False,
        font={"size": 12},
    )
    fig.update_xaxes(type="date", tickformat=tick, showgrid=True, zeroline=False, fixedrange=True)
    fig.update_yaxes(
        type="category",
        categoryorder="array",
        categoryarray=list(reversed(labels)),  # the first row on top
        range=[-0.6, len(labels) - 0.4],
        showgrid=True,
        fixedrange=True,
    )
    return fig


def summary(timeline: Timeline) -> str:
    """One line: what the chart counts."""
    total = sum(row.count for row in timeline.rows) + timeline.undated.count
    periods = timeline.periods()
    span = f", {periods[0]} – {periods[-1]}" if periods else ""
    by = "side" if timeline.rows_by == "side" else "speaker"
    return f"{total} relevant statement{'s' if total != 1 else ''} by {by} and {timeline.granularity}{span}"


def table_html(timeline: Timeline, question: str) -> str:
    """The chart as a table (its text alternative): a row per side, a line per period; every count is a button
    that opens that period's quotes."""
    by = "Side" if timeline.rows_by == "side" else "Speaker"
    undated = {cell.side: cell.count for cell in timeline.undated.rows}
    body = []
    for row in timeline.rows:
        cells = [
            f'<button class="qa-period" data-side="{esc(row.side)}" data-period="{esc(cell.period)}">'
            f"{esc(cell.period)}: {cell.count}</button>"
            for cell in row.cells
        ]
        if row.side in undated:
            cells.append(
                f'<button class="qa-period" data-side="{esc(row.side)}" data-period="undated">'
                f"undated: {undated[row.side]}</button>"
            )
        shown = " ".join(cells) if cells else '<span class="qa-silent">no relevant statement</span>'
        body.append(f'<tr><th scope="row">{esc(row.side)}</th><td>{row.count}</td><td>{shown}</td></tr>')
    notes = "".join(f'<p class="qa-note">{esc(note)}</p>' for note in timeline.notes)
    return (
        f'<div class="qa-timeline" data-question="{esc(question)}">'
        f'<div class="qa-timeline-h"><h3>Over time</h3><span>{esc(summary(timeline))}</span>'
        '<button class="qa-table-toggle" aria-expanded="false">Show as table</button></div>'
        f'<table class="qa-timeline-table qa-visually-hidden"><caption>Relevant statements about “{esc(question)}”'
        f" per {by.lower()} and {timeline.granularity}; a period opens its quotes</caption>"
        f'<thead><tr><th scope="col">{by}</th><th scope="col">Statements</th>'
        f'<th scope="col">Periods (statements)</th></tr></thead><tbody>{"".join(body)}</tbody></table>'
        f"{notes}</div>"
    )


def period_html(
    answer: Answer, side: str, period: str, quotes: list[Quote], colours: Mapping[str, str] | None = None
) -> str:
    """The quotes of one mark: `side` in `period`."""
    cell = answer.timeline.cell(side, period) if answer.timeline is not None else None
    count = cell.count if cell is not None else 0
    where = "in documents with no date" if period == "undated" else f"in {period}"
    shown = f"the best {len(quotes)}" if len(quotes) < count else "all"
    head = (
        f'<div class="qa-period-h" data-side="{esc(side)}" data-period="{esc(period)}"><b>{esc(side)}</b> {esc(where)}: {count} relevant '
        f"statement{'s' if count != 1 else ''} ({shown} shown)"
        '<button class="qa-period-close" aria-label="Close these quotes">×</button></div>'
    )
    if not quotes:
        return f'<div class="qa-period-quotes" role="region" aria-label="Quotes of one period">{head}</div>'
    cards = [
        quote_html(
            quote,
            number,
            colours=colours,
            min_similarity=answer.min_similarity,
            compared_with="topic" if answer.topic else "question",
            quote_id=f"p-{number}",
        )
        for number, quote in enumerate(quotes, 1)
    ]
    return f'<div class="qa-period-quotes" role="region" aria-label="Quotes of one period">{head}{"".join(cards)}</div>'


def ordered(answer: Answer, order: str) -> Answer:
    """`answer` with the quotes of each side group (or of the answer) in `order`: relevance (as answered),
    newest or oldest first (undated quotes last, ties in relevance order)."""
    if order not in ("newest", "oldest"):
        return answer

    def sort(quotes: list[Quote]) -> list[Quote]:
        dated = [q for q in quotes if q.date is not None]
        undated = [q for q in quotes if q.date is None]
        dated.sort(key=lambda q: q.date or dt.date.min, reverse=order == "newest")  # stable: ties keep relevance
        return dated + undated

    copy = answer.model_copy(deep=True)
    if copy.grouped_by_side:
        for group in copy.groups:
            group.quotes = sort(group.quotes)
        copy.quotes = [quote for group in copy.groups for quote in group.quotes]
    else:
        copy.quotes = sort(copy.quotes)
    return copy
