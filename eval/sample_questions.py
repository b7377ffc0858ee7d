"""The questions the latency and load benchmarks ask of the bundled corpus."""

QUESTIONS = [
    "What did each side say about Lachin?",
    "How many civilians were wounded?",
    "Who is responsible for the aggression against Nagorno-Karabakh?",
    "landmine victims since November 2020",
    "Russian peacekeeping contingent",
    "humanitarian corridors evacuation of civilians",
    "What did Armenia say about the blockade?",
    "ceasefire violations on the border",
]
