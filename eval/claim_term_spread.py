"""Why sentence-level BM25 loses on SciFact: how a claim's words spread over the abstract that answers it.

    .venv/bin/python eval/claim_term_spread.py [BEIR folder] [split]

For each judged (claim, abstract) pair, counts the distinct claim terms (the product's BM25 tokens) found in
the whole abstract and in its best single sentence. Uses the cached sentence index of `qa-assistant eval
--beir` (built if missing). Prints the share of pairs where the abstract holds more terms than any one
sentence, and the mean share of the abstract's matching terms that its best sentence holds.
"""

import sys
from pathlib import Path

from qa_assistant.evaluation.beir import beir_index, load_beir
from qa_assistant.text.tokens import tokenize

folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("../shared/beir/scifact-train")
ds = load_beir(folder, sys.argv[2] if len(sys.argv) > 2 else "train")
index = beir_index(ds, "sentence", cache_dir=Path("eval/cache"))
sent_of = {}
for sid in range(len(index.sentences)):
    sent_of.setdefault(index.documents[int(index.sentences.doc_index[sid])].id, []).append(index.sentence_text(sid))
more = total = 0
shares = []
for qid, judged in ds.qrels.items():
    terms = set(tokenize(ds.queries[qid], query=True))
    for did in judged:
        doc_terms = terms & set(tokenize(" ".join(sent_of[did])))
        best = max(len(terms & set(tokenize(s))) for s in sent_of[did])
        total += 1
        more += len(doc_terms) > best
        if doc_terms:
            shares.append(best / len(doc_terms))
print(
    f"pairs {total}; abstract has more distinct claim terms than its best sentence: {more} ({more / total:.0%}); "
    f"mean share of the abstract's matching terms in the best sentence: {sum(shares) / len(shares):.0%}"
)
