"""CSS and the small client-side scripts of the chat UI (no third-party code, nothing fetched)."""

# Runs once when the conversation component mounts. Clicks on "Show in document" send the quote's
# offsets to Python (custom event 'show_doc'); after each new answer the view scrolls to it.
TRANSCRIPT_JS = """
element.addEventListener('click', (event) => {
  const example = event.target.closest('button.qa-example');
  if (example && element.contains(example)) {
    trigger('ask_example', {question: example.dataset.question});
    return;
  }
  const button = event.target.closest('button.qa-show');
  if (!button || !element.contains(button)) return;
  element.querySelectorAll('.qa-quote.qa-active').forEach((el) => el.classList.remove('qa-active'));
  const card = button.closest('.qa-quote');
  if (card) card.classList.add('qa-active');
  trigger('show_doc', {
    doc_id: button.dataset.doc,
    start: Number(button.dataset.start),
    end: Number(button.dataset.end),
  });
});
watch('value', () => {
  const scroller = element.querySelector('.qa-scroll');
  const turns = element.querySelectorAll('.qa-turn');
  const last = turns[turns.length - 1];
  if (scroller && last) scroller.scrollTop = Math.max(0, last.offsetTop - 12);
});
"""

# Runs once when the document viewer mounts: each time a document is shown, bring the highlighted
# sentence to the upper third of the viewer (bringing the viewer on screen if needed) and flash it; for a PDF, the
# drawn page scrolls to its first marked line too.
DOCUMENT_JS = """
watch('value', () => {
  const pages = element.querySelector('.qa-doc-pages');
  const lineBox = element.querySelector('.qa-page-hit');
  if (pages && lineBox) {
    const offset = lineBox.getBoundingClientRect().top - pages.getBoundingClientRect().top + pages.scrollTop;
    pages.scrollTop = Math.max(0, offset - pages.clientHeight / 3);
  }
  const mark = element.querySelector('mark.qa-hit');
  const box = element.querySelector('.qa-doc-text');
  if (!mark || !box) return;
  box.scrollTop = Math.max(0, mark.offsetTop - box.clientHeight / 3);
  const panel = element.getBoundingClientRect();
  if (panel.top < 0 || panel.top > window.innerHeight - 120) element.scrollIntoView({block: 'start'});
  mark.classList.remove('qa-flash');
  void mark.offsetWidth;
  mark.classList.add('qa-flash');
});
"""

# Runs once when the timeline table mounts: a period button (or a click on a mark of the Plotly chart, whose
# `plotly_click` is forwarded) opens that period's quotes; the toggle shows the table, otherwise read only by
# screen readers. The chart is drawn anew for each answer: each new plot element gets the listener once.
TIMELINE_JS = """
element.addEventListener('click', (event) => {
  const toggle = event.target.closest('button.qa-table-toggle');
  if (toggle && element.contains(toggle)) {
    const table = element.querySelector('table.qa-timeline-table');
    if (!table) return;
    const hidden = table.classList.toggle('qa-visually-hidden');
    toggle.setAttribute('aria-expanded', String(!hidden));
    toggle.textContent = hidden ? 'Show as table' : 'Hide table';
    return;
  }
  const button = event.target.closest('button.qa-period');
  if (button && element.contains(button)) {
    trigger('open_period', {side: button.dataset.side, period: button.dataset.period});
  }
});
const bindChart = () => {
  const plot = document.querySelector('#qa-timeline-chart .js-plotly-plot');
  if (!plot || plot.dataset.qaBound || typeof plot.on !== 'function') return;
  plot.dataset.qaBound = '1';
  plot.on('plotly_click', (data) => {
    const point = data && data.points && data.points[0];
    if (point && point.customdata) trigger('open_period', {side: point.customdata[0], period: point.customdata[1]});
  });
};
new MutationObserver(bindChart).observe(document.body, {childList: true, subtree: true});
bindChart();
"""

# Runs once when the period's quotes mount: "Show in document" as in the conversation, × closes them.
PERIOD_JS = """
element.addEventListener('click', (event) => {
  if (event.target.closest('button.qa-period-close')) {
    trigger('close_period', {});
    return;
  }
  const button = event.target.closest('button.qa-show');
  if (!button || !element.contains(button)) return;
  trigger('show_doc', {
    doc_id: button.dataset.doc,
    start: Number(button.dataset.start),
    end: Number(button.dataset.end),
  });
});
watch('value', () => {
  const box = element.querySelector('.qa-period-quotes');
  if (box) box.scrollIntoView({block: 'nearest'});
});
"""

CSS = """
.gradio-container { max-width: 1760px !important; margin: 0 auto !important; }
#qa-filters { max-width: 300px; }
footer { display: none !important; }
.qa-text, .qa-doc-text, .qa-logo { font-family: Georgia, Cambria, 'Liberation Serif', 'Times New Roman', serif; }

/* ---------- header ---------- */
.qa-header { display: flex; align-items: center; gap: 14px; padding: 0 4px; }
.qa-logo { width: 42px; height: 42px; border-radius: 12px; background: var(--color-accent);
  color: #fff; font-size: 34px; line-height: 54px; text-align: center; flex: none; }
.qa-brand h1 { margin: 0; font-size: 1.4rem; font-weight: 700; letter-spacing: -0.01em; }
.qa-brand p { margin: 1px 0 0; color: var(--body-text-color-subdued); font-size: 0.92rem; }
.qa-index-info { margin-left: auto; text-align: right; font-size: 0.82rem; color: var(--body-text-color-subdued);
  line-height: 1.45; }
.qa-index-info b { color: var(--body-text-color); }

/* ---------- filters ---------- */
.qa-panel-h h2 { margin: 0; font-size: 1rem; font-weight: 700; }
.qa-panel-h p { margin: 2px 0 0; font-size: 0.8rem; color: var(--body-text-color-subdued); line-height: 1.35; }
#qa-filters { background: var(--background-fill-secondary); border: 1px solid var(--border-color-primary);
  border-radius: 14px; padding: 14px 12px; gap: 10px; }
.qa-panel-label { font-size: 0.72rem; font-weight: 700; letter-spacing: 0.08em; text-transform: uppercase;
  color: var(--body-text-color-subdued); margin-bottom: 4px; }

/* ---------- conversation ---------- */
.qa-transcript { border: 1px solid var(--border-color-primary); border-radius: 14px;
  background: var(--background-fill-primary); }
.qa-scroll { position: relative; height: calc(100vh - 290px); min-height: 420px; overflow-y: auto;
  padding: 18px 22px; }
.qa-welcome { max-width: 640px; margin: 36px auto; text-align: center; color: var(--body-text-color); }
.qa-welcome h2 { font-size: 1.3rem; font-weight: 700; margin: 0 0 10px; }
.qa-welcome p { line-height: 1.6; margin: 8px 0; }
.qa-welcome .qa-hint { color: var(--body-text-color-subdued); font-size: 0.86rem; }
.qa-side-pills { display: flex; gap: 8px; justify-content: center; flex-wrap: wrap; margin: 14px 0 20px; }
.qa-side-pill { border: 1px solid var(--side-colour); color: var(--side-colour); border-radius: 999px;
  padding: 1px 12px; font-size: 0.84rem; font-weight: 700; }
.qa-examples { display: flex; flex-direction: column; align-items: stretch; gap: 8px; margin: 8px auto 18px;
  max-width: 460px; }
.qa-examples-label { font-size: 0.72rem; font-weight: 700; letter-spacing: 0.08em; text-transform: uppercase;
  color: var(--body-text-color-subdued); }
button.qa-example { font: inherit; font-size: 0.95rem; text-align: left; cursor: pointer; padding: 9px 14px;
  border-radius: 10px; border: 1px solid var(--border-color-primary); background: var(--background-fill-secondary);
  color: var(--body-text-color); }
button.qa-example:hover { border-color: var(--color-accent); color: var(--color-accent); }

.qa-turn { margin: 0 0 28px; }
.qa-q { display: flex; justify-content: flex-end; margin-bottom: 10px; }
.qa-q-bubble { background: var(--color-accent); color: #fff; padding: 9px 14px; border-radius: 16px 16px 4px 16px;
  max-width: 80%; white-space: pre-wrap; overflow-wrap: anywhere; font-size: 0.98rem; line-height: 1.45; }
.qa-used { display: flex; flex-wrap: wrap; gap: 6px; margin: 0 0 8px; }
.qa-chip { font-size: 0.75rem; padding: 1px 9px; border-radius: 999px; background: var(--background-fill-secondary);
  border: 1px solid var(--border-color-primary); color: var(--body-text-color-subdued); }
.qa-chip b { font-weight: 700; color: var(--body-text-color); margin-right: 2px; }

.qa-group { margin: 0 0 6px; }
.qa-side-h { display: flex; align-items: center; gap: 8px; margin: 14px 0 8px; font-size: 1.02rem; font-weight: 700;
  color: var(--body-text-color); border-bottom: 2px solid var(--side-colour); padding-bottom: 4px; }
.qa-dot { width: 10px; height: 10px; border-radius: 50%; background: var(--side-colour); display: inline-block; }
.qa-count { margin-left: auto; font-size: 0.78rem; font-weight: 400; color: var(--body-text-color-subdued); }
.qa-note { margin: 6px 0 12px; padding: 10px 14px; border-radius: 10px; border: 1px dashed var(--border-color-primary);
  color: var(--body-text-color-subdued); font-style: italic; }

.qa-quote { display: flex; gap: 12px; padding: 12px 16px 10px 12px; margin: 8px 0; border-radius: 12px;
  background: var(--background-fill-secondary); border-left: 4px solid var(--side-colour); }
.qa-quote.qa-active { box-shadow: 0 0 0 2px var(--color-accent); }
.qa-num { flex: none; width: 22px; height: 22px; border-radius: 50%; background: var(--side-colour); color: #fff;
  font-size: 0.75rem; font-weight: 700; line-height: 22px; text-align: center; margin-top: 3px; }
.qa-main { min-width: 0; flex: 1; }
.qa-text { margin: 0; padding: 0; border: 0; font-size: 1.06rem; line-height: 1.55; color: var(--body-text-color);
  white-space: pre-wrap; overflow-wrap: anywhere; quotes: none; }
.qa-text::before, .qa-text::after { content: none; }
.qa-attr { margin-top: 7px; font-size: 0.84rem; color: var(--body-text-color-subdued); display: flex; flex-wrap: wrap;
  align-items: baseline; gap: 2px 6px; }
.qa-who { font-weight: 700; color: var(--body-text-color); }
.qa-side-tag { color: var(--side-colour); font-weight: 700; }
.qa-sep { opacity: 0.6; }
.qa-title { display: block; font-size: 0.82rem; font-style: italic; color: var(--body-text-color-subdued);
  margin-top: 1px; }
.qa-also { margin-top: 6px; font-size: 0.8rem; color: var(--body-text-color-subdued); }
.qa-also span { font-weight: 700; }
.qa-also ul { margin: 2px 0 0 18px; padding: 0; }
.qa-actions { display: flex; align-items: flex-start; gap: 8px; margin-top: 8px; flex-wrap: wrap; }
button.qa-show { font: inherit; font-size: 0.78rem; cursor: pointer; padding: 2px 10px; border-radius: 7px;
  border: 1px solid var(--border-color-primary); background: var(--background-fill-primary); color: var(--color-accent); }
button.qa-show:hover { border-color: var(--color-accent); }
button.qa-show-small { padding: 0 6px; font-size: 0.72rem; }
.qa-scores { font-size: 0.78rem; color: var(--body-text-color-subdued); }
.qa-scores summary { cursor: pointer; padding: 3px 4px; user-select: none; }
.qa-scores table { margin-top: 4px; border-collapse: collapse; background: var(--background-fill-primary);
  border: 1px solid var(--border-color-primary); }
.qa-scores th, .qa-scores td { text-align: left; padding: 3px 10px; border: 0; font-size: 0.78rem; }
.qa-scores th { font-weight: 700; color: var(--body-text-color); white-space: nowrap; }
.qa-scores td { font-family: var(--font-mono); }

.qa-abstain { padding: 12px 16px; border-radius: 12px; background: var(--background-fill-secondary);
  border: 1px solid var(--border-color-primary); border-left: 4px solid #94a3b8; }
.qa-abstain-title { font-weight: 700; margin-bottom: 4px; }
.qa-abstain p { margin: 2px 0; line-height: 1.5; }
.qa-reason { font-size: 0.84rem; color: var(--body-text-color-subdued); }
.qa-error { padding: 10px 14px; border-radius: 10px; background: #fef2f2; color: #991b1b; border: 1px solid #fecaca; }
.dark .qa-error { background: #450a0a; color: #fecaca; border-color: #7f1d1d; }
.qa-foot { margin-top: 6px; font-size: 0.75rem; color: var(--body-text-color-subdued); }

/* ---------- question and export ---------- */
#qa-ask-row { gap: 8px; }
#qa-question textarea { font-size: 1rem; }
#qa-export { align-items: center; gap: 8px; }
.qa-export-caption { font-size: 0.82rem; display: flex; gap: 8px; align-items: baseline; min-width: 0;
  white-space: nowrap; overflow: hidden; }
.qa-export-caption span { color: var(--body-text-color-subdued); white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; }

/* ---------- document viewer ---------- */
.qa-doc { border: 1px solid var(--border-color-primary); border-radius: 14px; background: var(--background-fill-primary);
  display: flex; flex-direction: column; height: calc(100vh - 150px); min-height: 560px; }
.qa-doc-head { padding: 12px 16px 10px; border-bottom: 1px solid var(--border-color-primary); flex: none; }
.qa-doc-title { margin: 0 0 4px; font-size: 1.02rem; font-weight: 700; line-height: 1.35; overflow-wrap: anywhere; }
.qa-doc-meta, .qa-doc-src { font-size: 0.8rem; color: var(--body-text-color-subdued); overflow-wrap: anywhere; }
.qa-doc-src code { font-size: 0.76rem; }
.qa-doc-where { margin-left: 6px; }
.qa-doc-text { position: relative; flex: 1; min-height: 0; padding: 14px 18px; overflow-y: auto;
  white-space: pre-wrap; overflow-wrap: anywhere; font-size: 0.97rem; line-height: 1.65; color: var(--body-text-color); }
.qa-doc-body { flex: 1; min-height: 0; display: flex; flex-direction: column; }
.qa-doc-split { flex-direction: row; }
.qa-doc-split > .qa-doc-pages { flex: 1 1 50%; min-width: 0; overflow-y: auto; padding: 10px;
  border-right: 1px solid var(--border-color-primary); background: var(--background-fill-secondary); }
.qa-doc-split > .qa-doc-text { flex: 1 1 50%; }
.qa-doc-page { margin: 0 0 12px; }
.qa-page-img { position: relative; line-height: 0; box-shadow: 0 1px 4px rgba(0,0,0,.25); background: #fff; }
.qa-page-img img { width: 100%; height: auto; display: block; }
.qa-page-hit { position: absolute; background: rgba(250, 204, 21, .38); outline: 2px solid #f59e0b;
  border-radius: 2px; pointer-events: none; }
.qa-doc-page figcaption, .qa-doc-page-note { font-size: 0.78rem; color: var(--body-text-color-subdued);
  margin-top: 6px; line-height: 1.4; }
.qa-page { font-size: 0.8rem; color: var(--body-text-color-subdued); margin-left: 6px; }
mark.qa-hit { background: #fde68a; color: #111827; padding: 1px 0; border-radius: 3px; box-shadow: 0 0 0 2px #fde68a; }
mark.qa-flash { animation: qa-flash 1.2s ease-out 1; }
@keyframes qa-flash { 0% { box-shadow: 0 0 0 6px #f59e0b; } 100% { box-shadow: 0 0 0 2px #fde68a; } }
.qa-doc-empty .qa-doc-head { border-bottom: 0; }
.qa-doc-empty-msg { margin: auto; max-width: 250px; text-align: center; color: var(--body-text-color-subdued);
  font-size: 0.9rem; line-height: 1.5; }

@media (max-width: 1100px) {
  .qa-scroll { height: auto; max-height: 70vh; }
  .qa-doc { height: 80vh; min-height: 0; }
  .qa-doc-split { flex-direction: column; }
  .qa-doc-split > .qa-doc-pages { flex: none; max-height: 45%; border-right: 0; }
  .qa-index-info { display: none; }
}
/* "Add documents" panel */
.qa-upload-status { font-size: 0.82rem; line-height: 1.4; }
.qa-upload-status progress { width: 100%; height: 10px; display: block; margin-bottom: 4px; }
.qa-upload-status[data-state="error"], .qa-upload-status[data-state="failed"] { color: var(--error-text-color, #b91c1c); }
.qa-upload-status[data-state="done"] span { color: var(--body-text-color-subdued); }
.qa-doc-list p { margin: 0 0 4px; font-size: 0.8rem; color: var(--body-text-color-subdued); }
.qa-doc-list ul { list-style: none; margin: 0; padding: 0; max-height: 260px; overflow-y: auto; }
.qa-doc-list li { padding: 4px 0; border-bottom: 1px solid var(--border-color-primary); font-size: 0.8rem; }
.qa-doc-list li b { display: block; font-weight: 600; overflow-wrap: anywhere; }
.qa-doc-list li span { color: var(--body-text-color-subdued); overflow-wrap: anywhere; }
/* ---------- timeline ---------- */
#qa-timeline-panel { border: 1px solid var(--border-color-primary); border-radius: 14px; padding: 8px 12px;
  background: var(--background-fill-primary); gap: 4px; }
.qa-timeline-h { display: flex; align-items: baseline; gap: 10px; flex-wrap: wrap; }
.qa-timeline-h h3 { margin: 0; font-size: 0.95rem; font-weight: 700; }
.qa-timeline-h span { font-size: 0.82rem; color: var(--body-text-color-subdued); }
.qa-table-toggle, .qa-period-close { margin-left: auto; border: 1px solid var(--border-color-primary);
  border-radius: 8px; padding: 1px 8px; font-size: 0.78rem; background: var(--background-fill-secondary);
  color: var(--body-text-color); cursor: pointer; }
.qa-timeline-table { border-collapse: collapse; margin: 6px 0; font-size: 0.82rem; width: 100%; }
.qa-timeline-table caption { text-align: left; color: var(--body-text-color-subdued); padding-bottom: 4px; }
.qa-timeline-table th, .qa-timeline-table td { border-top: 1px solid var(--border-color-primary);
  padding: 3px 6px; text-align: left; vertical-align: top; }
.qa-period { border: 1px solid var(--border-color-primary); border-radius: 6px; padding: 0 5px; margin: 1px;
  background: var(--background-fill-secondary); color: var(--body-text-color); cursor: pointer; font-size: 0.78rem; }
.qa-period:hover, .qa-period:focus-visible { border-color: var(--color-accent); }
.qa-silent { color: var(--body-text-color-subdued); font-style: italic; }
.qa-visually-hidden { position: absolute !important; width: 1px; height: 1px; overflow: hidden;
  clip: rect(0 0 0 0); clip-path: inset(50%); white-space: nowrap; }
.qa-period-h { display: flex; align-items: baseline; gap: 6px; font-size: 0.85rem; margin: 6px 0; }
#qa-timeline-chart .js-plotly-plot .xtick text, #qa-timeline-chart .js-plotly-plot .ytick text {
  fill: var(--body-text-color) !important; }
#qa-timeline-chart .js-plotly-plot .gridlayer path { stroke: var(--border-color-primary) !important; }
#qa-timeline-chart .js-plotly-plot .scatterlayer .point { cursor: pointer; }
#qa-order { margin: 2px 0; }
#qa-timeline-chart .modebar-container { display: none; }
"""
