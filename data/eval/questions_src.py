"""Source of data/eval/questions.jsonl: run `python data/eval/questions_src.py` to regenerate and verify it.

Every gold answer must occur (normalised) in the lead of the last gold title, or the script fails.
Rows: (question, [accepted answers], [gold titles in hop order][, [other titles that state the answer]]).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

SINGLE = [
    ("What is the capital of France?", ["Paris"], ["France"]),
    ("Who wrote Hamlet?", ["William Shakespeare", "Shakespeare"], ["Hamlet"]),
    ("Who painted the Mona Lisa?", ["Leonardo da Vinci", "Leonardo"], ["Mona Lisa"]),
    ("Who painted The Starry Night?", ["Vincent van Gogh", "van Gogh"], ["The Starry Night"]),
    ("In which city is the Eiffel Tower?", ["Paris"], ["Eiffel Tower"]),
    ("Who is the Eiffel Tower named after?", ["Gustave Eiffel"], ["Eiffel Tower"]),
    ("Which French sculptor designed the Statue of Liberty?", ["Bartholdi"], ["Statue of Liberty"]),
    ("In which city is the Taj Mahal?", ["Agra"], ["Taj Mahal"]),
    ("Which Mughal emperor commissioned the Taj Mahal?", ["Shah Jahan"], ["Taj Mahal"]),
    ("Who wrote War and Peace?", ["Leo Tolstoy", "Tolstoy"], ["War and Peace"]),
    ("Who wrote Pride and Prejudice?", ["Jane Austen"], ["Pride and Prejudice"]),
    ("Who wrote Don Quixote?", ["Miguel de Cervantes", "Cervantes"], ["Don Quixote"]),
    ("Who was the commander of Apollo 11?", ["Neil Armstrong"], ["Apollo 11"]),
    ("Which river is the longest river in the world?", ["Nile"], ["Nile"]),
    ("What is the highest mountain on Earth above sea level?", ["Mount Everest", "Everest"], ["Mount Everest"]),
    ("What is the largest hot desert in the world?", ["Sahara"], ["Sahara"]),
    ("What is the largest and deepest ocean?", ["Pacific Ocean", "Pacific"], ["Pacific Ocean"]),
    ("What is the capital of Japan?", ["Tokyo"], ["Tokyo"], ["Japan"]),
    ("What is the capital of Brazil?", ["Brasília", "Brasilia"], ["Brazil"]),
    ("What is the capital of Egypt?", ["Cairo"], ["Cairo"], ["Egypt"]),
    ("What is the capital of Russia?", ["Moscow"], ["Moscow"], ["Russia"]),
    ("What is the capital of China?", ["Beijing"], ["Beijing"], ["China"]),
    ("What is the capital of Germany?", ["Berlin"], ["Berlin"], ["Germany"]),
    ("What is the capital of Italy?", ["Rome"], ["Rome"], ["Italy"]),
    ("On which river does London stand?", ["Thames"], ["London"]),
    ("On which river does Moscow stand?", ["Moskva"], ["Moscow"]),
    ("What is the chemical symbol of gold?", ["Au"], ["Gold"]),
    ("What is the atomic number of oxygen?", ["8"], ["Oxygen"]),
    ("What is the chemical formula of water?", ["H2O"], ["Water"]),
    ("Which cells produce insulin?", ["beta cells"], ["Insulin"]),
    ("Who first released the Linux kernel?", ["Linus Torvalds"], ["Linux"]),
    ("Where is Microsoft headquartered?", ["Redmond"], ["Microsoft"]),
    ("Where is Apple Inc. headquartered?", ["Cupertino"], ["Apple Inc."]),
    ("Which theory is Albert Einstein best known for developing?", ["relativity"], ["Albert Einstein"]),
    ("In which year did Albert Einstein receive the Nobel Prize in Physics?", ["1921"], ["Albert Einstein"]),
    ("In what year was Isaac Newton's Principia first published?", ["1687"], ["Isaac Newton"]),
    ("What nationality was the composer Ludwig van Beethoven?", ["German"], ["Ludwig van Beethoven"]),
    ("Which elements did Marie Curie discover?", ["radium", "polonium"], ["Marie Curie"]),
    ("Which art movement did Pablo Picasso co-found?", ["Cubist", "Cubism"], ["Pablo Picasso"]),
    ("In which year did Julius Caesar's assassination take place?", ["44 BC"], ["Julius Caesar"]),
    ("Of which kingdom was Cleopatra the queen?", ["Ptolemaic Kingdom", "Ptolemaic"], ["Cleopatra"]),
    ("From which year was Napoleon Emperor of the French?", ["1804"], ["Napoleon"]),
    ("What is the only natural satellite of Earth?", ["Moon"], ["Moon"]),
    ("From which moulds were penicillins originally obtained?", ["Penicillium"], ["Penicillin"]),
    (
        "In which dynasty were the first walls of the Great Wall of China joined together?",
        ["Qin"],
        ["Great Wall of China"],
    ),
    (
        "Which protocol does the World Wide Web use to access documents?",
        ["Hypertext Transfer Protocol", "HTTP"],
        ["World Wide Web"],
    ),
    ("Which is the largest country in South America?", ["Brazil"], ["Brazil"]),
    ("In which museum has The Starry Night been since 1941?", ["Museum of Modern Art"], ["The Starry Night"]),
    ("What shape do the two chains of DNA coil into?", ["double helix"], ["DNA"]),
    ("How many major islands make up the Japanese archipelago?", ["four"], ["Japan"]),
]

TWO_HOP = [
    ("What nationality was the author of Don Quixote?", ["Spanish"], ["Don Quixote", "Miguel de Cervantes"]),
    ("What nationality was the painter of The Starry Night?", ["Dutch"], ["The Starry Night", "Vincent van Gogh"]),
    (
        "In which country was the author of War and Peace born?",
        ["Russia", "Russian"],
        ["War and Peace", "Leo Tolstoy"],
    ),
    (
        "How many novels is the author of Pride and Prejudice primarily known for?",
        ["six"],
        ["Pride and Prejudice", "Jane Austen"],
    ),
    ("What kind of writer was the author of Hamlet?", ["playwright"], ["Hamlet", "William Shakespeare"]),
    (
        "What was the profession of the engineer the Eiffel Tower is named after?",
        ["engineer"],
        ["Eiffel Tower", "Gustave Eiffel"],
    ),
    ("Which river flows through the city where the Taj Mahal stands?", ["Yamuna"], ["Taj Mahal", "Agra"]),
    (
        "What is the capital of the country where Mount Everest's summit border lies with China?",
        ["Kathmandu"],
        ["Mount Everest", "Nepal"],
    ),
    (
        "Which company did the co-founder of Apple Inc. Steve Jobs also lead?",
        ["Pixar"],
        ["Apple Inc.", "Steve Jobs"],
    ),
    (
        "Besides astronaut, what kind of engineer was the commander of Apollo 11?",
        ["aeronautical"],
        ["Apollo 11", "Neil Armstrong"],
    ),
    ("What was the nationality of the painter of the Mona Lisa?", ["Italian"], ["Mona Lisa", "Leonardo da Vinci"]),
    (
        "Which sea does the longest river in the world empty into?",
        ["Mediterranean"],
        ["Nile", "Mediterranean Sea"],
    ),
    ("In which country is the city where the Taj Mahal stands?", ["India"], ["Taj Mahal", "Agra"]),
    ("Who was the husband of the woman who discovered radium?", ["Pierre Curie"], ["Marie Curie", "Pierre Curie"]),
    ("What is the population of the capital of Germany?", ["3.7 million"], ["Germany", "Berlin"]),
]


def _states(corpus, title, answers, normalize) -> bool:  # type: ignore[no-untyped-def]
    article = corpus.get(title)
    return article is not None and any(normalize(a) in normalize(article.extract) for a in answers)


def main() -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from mm_orch.tools import load_corpus
    from steps.text import normalize_answer

    corpus = load_corpus()
    rows, bad = [], []
    for hops, items in ((1, SINGLE), (2, TWO_HOP)):
        for question, answers, titles, *rest in items:
            alt = [t for t in (rest[0] if rest else []) if _states(corpus, t, answers, normalize_answer)]
            articles = [corpus.get(t) for t in titles]
            if any(a is None for a in articles):
                bad.append(f"missing title in {titles}: {question}")
                continue
            lead = normalize_answer(articles[-1].extract)
            if not any(normalize_answer(a) in lead for a in answers):
                bad.append(f"answer {answers} not in {titles[-1]!r}: {question}")
                continue
            rows.append({"id": f"q{len(rows) + 1:03d}", "question": question, "answers": answers,
                         "gold_titles": titles, "alt_titles": alt, "hops": hops})  # fmt: skip
    for line in bad:
        print("SKIP", line)
    out = Path(__file__).with_name("questions.jsonl")
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"wrote {len(rows)} questions ({sum(r['hops'] == 2 for r in rows)} two-hop) to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
