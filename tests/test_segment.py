from pathlib import Path

from qa_assistant.text.segment import is_quotable, split_sentences

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
UNGDC_SAMPLE = Path(__file__).resolve().parent / "data" / "ungdc-sample"


def texts(text):
    return [text[s:e] for s, e in split_sentences(text)]


def test_offsets_are_exact_and_trimmed_on_every_seed_document():
    for path in sorted(CORPUS.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        spans = split_sentences(text)
        assert spans, path
        previous_end = 0
        for start, end in spans:
            assert previous_end <= start < end <= len(text)
            piece = text[start:end]
            assert piece == piece.strip() and piece
            previous_end = end


def test_abbreviations_do_not_end_sentences():
    text = "Mr. Smith met U.S. officials on Sept. 5 in Baku. Then he left the city."
    assert texts(text) == ["Mr. Smith met U.S. officials on Sept. 5 in Baku.", "Then he left the city."]


def test_multi_sentence_quotation_stays_one_passage():
    text = (
        "“Women, children and the sick will receive help. They will be given drinking water and food,” "
        "said the ministry. Another sentence follows here."
    )
    got = texts(text)
    assert got[0].startswith("“Women") and got[0].endswith("said the ministry.")
    assert got[1] == "Another sentence follows here."


def test_quotation_boundary_between_two_quotes_splits():
    text = "He stressed that “the population is being warned.” “The facilities will be protected,” he added."
    assert texts(text) == [
        "He stressed that “the population is being warned.”",
        "“The facilities will be protected,” he added.",
    ]


def test_paragraphs_and_header_lines_are_separate_units():
    text = (
        "Foreign Ministry: any steps against the territorial integrity of the state will be resolutely suppressed\n\n"
        "July 29, 2023 09:19\nBody sentence number one. Body sentence number two.\n"
    )
    assert texts(text) == [
        "Foreign Ministry: any steps against the territorial integrity of the state will be resolutely suppressed",
        "July 29, 2023 09:19",
        "Body sentence number one.",
        "Body sentence number two.",
    ]


def test_hard_wrapped_lines_are_joined():
    text = "This sentence is wrapped\nacross two lines. The next one is here.\n"
    assert texts(text) == ["This sentence is wrapped\nacross two lines.", "The next one is here."]


# Lines as PDF extraction leaves them in UN General Debate speeches (CUB_73_2018, CPV_73_2018, PAK_73_2018,
# AFG_30_1975): paragraphs on one line each, cut mid-sentence at page breaks and at column ends.
CUB_73_2018 = (
    "These facts are not the result  of  socialism,  as  the President of the United States said in this Hall\n"
    " \n"
    "yesterday (see A/73/PV.6). They are consequences of capitalism, especially imperialism and neoliberalism.\n"
)
CPV_73_2018 = (
    "We will celebrate the seventieth anniversary of the Universal Declaration of Human Rights on 10 December. "
    "Forced population movements are violating rights on an unprecedented scale. The 2030\n"
    "Agenda for Sustainable Development promises to leave no one behind.\n"
)
PAGE_BREAK_CAPITAL = (
    "Thailand also hosted the ASEAN-China Workshop on Marine\n \nEnvironmental Protection in the South China Sea.\n"
)
KASHMIR = "Kashmir is the key to peace between\nIndia and Pakistan, and it must be resolved.\n"
NUMBERED = (
    "114.\t Mr. President, it is a pleasure for the delegation of Afghanistan to see you elected.\n"
    "115.\tAllow me to express our appreciation to the outgoing President.\n"
)


def test_sentence_cut_at_a_page_break_is_one_sentence():
    got = texts(CUB_73_2018)
    assert got[0].startswith("These facts") and got[0].endswith("yesterday (see A/73/PV.6).")
    assert "\n \n" in got[0]  # the quote is the source text; only a display collapses the white space
    assert got[1].startswith("They are consequences")


def test_long_line_wrapped_before_a_capital_is_joined():
    got = texts(CPV_73_2018)
    assert got[-1] == "The 2030\nAgenda for Sustainable Development promises to leave no one behind."
    assert texts(PAGE_BREAK_CAPITAL) == [PAGE_BREAK_CAPITAL.strip()]


def test_line_ending_in_a_function_word_continues():
    assert texts(KASHMIR) == [KASHMIR.strip()]


def test_empty_line_ends_a_paragraph_even_without_punctuation():
    text = "Kashmir is the key to peace in the whole of South Asia for decades\n\nPakistan desires peace with India.\n"
    assert texts(text) == [
        "Kashmir is the key to peace in the whole of South Asia for decades",
        text.split("\n\n")[1].strip(),
    ]


def test_paragraph_numbers_are_not_quoted():
    assert texts(NUMBERED) == [
        "Mr. President, it is a pleasure for the delegation of Afghanistan to see you elected.",
        "Allow me to express our appreciation to the outgoing President.",
    ]


def test_fragments_are_never_a_sentence_of_their_own():
    text = "Therefore. Pakistan desires peace with all its neighbours. India, that is Bharat.\n"
    got = texts(text)
    assert got == ["Therefore. Pakistan desires peace with all its neighbours.", "India, that is Bharat."]
    assert texts("India.\n\nBharat.\n") == ["India.", "Bharat."]  # units of their own: kept as context
    assert (
        not is_quotable("India.") and not is_quotable("July 29, 2023 09:19") and is_quotable("India, that is Bharat.")
    )
    assert texts("He spoke at length on the matter. Thank you.\n") == ["He spoke at length on the matter. Thank you."]


def test_offsets_stay_exact_on_messy_text():
    for text in (CUB_73_2018, CPV_73_2018, PAGE_BREAK_CAPITAL, KASHMIR, NUMBERED):
        previous_end = 0
        for start, end in split_sentences(text):
            assert previous_end <= start < end <= len(text)
            assert text[start:end] == text[start:end].strip()
            previous_end = end


def test_unbalanced_quote_does_not_swallow_the_next_paragraph():
    text = "He said “this never closes. And more text.\n\nA new paragraph starts here."
    got = texts(text)
    assert got[-1] == "A new paragraph starts here."


def test_many_documents_split_on_every_core_give_the_same_offsets(monkeypatch, tmp_path):
    import os

    from qa_assistant.text import segment_parallel

    texts = [path.read_text(encoding="utf-8") for path in sorted(UNGDC_SAMPLE.glob("*.txt"))]
    assert len(texts) >= 10
    monkeypatch.setattr(segment_parallel, "PARALLEL_MIN_CHARS", 0)  # these few speeches count as a large corpus
    monkeypatch.setattr(segment_parallel, "DOCUMENTS_PER_TASK", 3)  # several tasks, the last one short

    def noting_the_process(text):  # the workers are forked: they call this too
        (tmp_path / f"{os.getpid()}-{texts.index(text)}").touch()
        return split_sentences(text)

    monkeypatch.setattr(segment_parallel, "split_sentences", noting_the_process)
    one_by_one = [split_sentences(text) for text in texts]
    assert segment_parallel.split_many(texts, workers=2) == one_by_one
    processes = {path.name.split("-")[0] for path in tmp_path.iterdir()}
    assert len(list(tmp_path.iterdir())) == len(texts) and str(os.getpid()) not in processes
    assert segment_parallel.split_many(texts, workers=1) == one_by_one
    assert segment_parallel.split_many([], workers=2) == []


def pysbd_rules(text: str) -> str:
    from pysbd.lang.english import English as PysbdEnglish

    return PysbdEnglish.AbbreviationReplacer(text, PysbdEnglish).replace()


def faster_rules(text: str) -> str:
    from qa_assistant.text.abbreviations import English

    return English.AbbreviationReplacer(text, English).replace()


ABBREVIATION_CASES = [
    "Mr. Smith met Dr. Jones at No. 10 on St. Patrick's Day. He left at 5 p.m. and came back.",
    "The U.S. and the U.K. signed it, i.e. the text of art. 2 (see no. 5), e.g. as Prof. Li said.",
    "mr. smith. MR. SMITH. Mr.Smith. Mrs. Ms. Messrs. Gen. Col. Lt. Sgt. Capt. Adm. Gov. Sen. Rep.",
    "Vol. 3, pp. 12–14, fig. 2, ca. 1990, approx. 5 km, Inc. and Ltd. and Co. merged; Corp. Bros.",
    "The ſt. case comes first.",  # "ſ" matches "s" when case is ignored: no word may be skipped here
    "A Kelvin sign: Kg. and kg. and a dotless ı. and İ. too.",
    "St. John's is not ſt. john.",
    "The İnc. since then.",  # "İ" lower-cases to two characters: "i" and a combining dot
    "Rwanda, Jan. 2019 — Feb. 3; Mar. 4. Apr. 5. Aug. 6. Sept. 7. Oct. 8. Nov. 9. Dec. 10. Sun. Mon.",
    "no. No. NO. nos. St.\tSt.\nSt.\r\nsaint. Dept. Univ. Assn. Ave. Blvd. Mt. Ft. a.m. A.M. ph.d. Ph.D.",
]


def test_the_faster_abbreviation_rules_give_pysbds_own_result():
    for text in ABBREVIATION_CASES:
        assert faster_rules(text) == pysbd_rules(text), text
    for path in sorted(UNGDC_SAMPLE.glob("*.txt")):
        for paragraph in path.read_text(encoding="utf-8").split("\n"):
            unit = paragraph.replace("\n", " ")
            assert faster_rules(unit) == pysbd_rules(unit), (path.name, unit[:80])


def test_sentences_equal_those_of_pysbds_own_rules(monkeypatch):
    from pysbd.lang.english import English as PysbdEnglish

    from qa_assistant.text import segment

    speeches = [path.read_text(encoding="utf-8") for path in sorted(UNGDC_SAMPLE.glob("*.txt"))]
    ours = [split_sentences(text) for text in [*speeches, *ABBREVIATION_CASES]]
    monkeypatch.setattr(segment._segmenter(), "language_module", PysbdEnglish)
    assert [split_sentences(text) for text in [*speeches, *ABBREVIATION_CASES]] == ours
