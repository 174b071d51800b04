"""Regenerate data/router/bootstrap.jsonl, the labelled bootstrap set the router trains on at first use.

Each row: query, workflow (label), mode, has_collection, has_documents, history_turns, group, split.
``group`` names the template (or hand-written line) a row came from; the held-out ``test`` split holds whole
templates, so evaluation measures requests phrased in ways the model never saw. Run:
``python data/router/make_bootstrap.py`` (deterministic).
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

OUT = Path(__file__).with_name("bootstrap.jsonl")
PER_TEMPLATE = 7  # rows per template: more would let a few phrasings dominate training and the held-out split
rng = random.Random(20260601)

TOPICS = [
    "photosynthesis",
    "the French Revolution",
    "compound interest",
    "plate tectonics",
    "the immune system",
    "supply and demand",
    "black holes",
    "the water cycle",
    "machine learning",
    "the Cold War",
    "climate change",
    "the Pythagorean theorem",
    "DNA replication",
    "inflation",
    "the Roman Republic",
    "electric circuits",
    "probability",
    "the human heart",
    "volcanoes",
    "the Renaissance",
    "recursion in programming",
    "vaccines",
    "the stock market",
    "ocean tides",
    "Shakespeare's sonnets",
    "the periodic table",
    "gravity",
    "the Industrial Revolution",
    "nutrition labels",
    "quantum computing",
    "coral reefs",
    "the printing press",
    "sleep",
    "antibiotics",
    "bees",
    "the Silk Road",
    "solar panels",
    "the blockchain",
    "tariffs",
    "glaciers",
]
COUNTRIES = [
    "France",
    "Japan",
    "Brazil",
    "Kenya",
    "Canada",
    "Australia",
    "Norway",
    "Egypt",
    "Peru",
    "Vietnam",
    "Portugal",
    "Mongolia",
    "Chile",
    "Ghana",
    "Finland",
    "Thailand",
]
PEOPLE = [
    "Marie Curie",
    "Isaac Newton",
    "Ada Lovelace",
    "Nelson Mandela",
    "Frida Kahlo",
    "Albert Einstein",
    "Leonardo da Vinci",
    "Charles Darwin",
    "Nikola Tesla",
    "Jane Austen",
    "Mahatma Gandhi",
    "Alan Turing",
]
THINGS = [
    "the Eiffel Tower",
    "the Golden Gate Bridge",
    "the Sydney Opera House",
    "the Great Wall",
    "the Panama Canal",
    "the first iPhone",
    "the Hubble telescope",
    "the Berlin Wall",
    "the Titanic",
    "the Statue of Liberty",
    "Windows 95",
    "the Channel Tunnel",
]
WORKS = [
    "Pride and Prejudice",
    "The Starry Night",
    "Inception",
    "Moby-Dick",
    "Bohemian Rhapsody",
    "Don Quixote",
    "The Godfather",
    "One Hundred Years of Solitude",
    "Thriller",
    "Hamlet",
]
CLAIMS = [
    "coffee stunts growth",
    "we only use ten percent of our brains",
    "cracking knuckles causes arthritis",
    "goldfish have a three second memory",
    "sugar makes kids hyperactive",
    "lightning never strikes twice",
    "the Great Wall is visible from space",
    "vitamin C prevents colds",
    "bulls hate the colour red",
    "bats are blind",
    "eating carrots improves night vision",
    "humans have five senses",
]
DOCS = [
    "contract",
    "lease",
    "meeting notes",
    "quarterly report",
    "employee handbook",
    "research paper",
    "slides",
    "policy document",
    "transcript",
    "spec",
    "invoice",
    "grant proposal",
]
DOC_QS = [
    "what is the notice period",
    "who is responsible for maintenance",
    "what were the action items",
    "what was the revenue growth",
    "how many vacation days do new hires get",
    "what sample size was used",
    "what is the main recommendation",
    "when does the warranty expire",
    "what are the payment terms",
    "which risks were flagged",
    "what deadline was agreed",
    "what budget was approved",
]
CHAT_TOPICS = [
    "my cat",
    "rainy Mondays",
    "a first date",
    "my grandmother's garden",
    "moving to a new city",
    "the ocean at night",
    "my best friend's wedding",
    "autumn leaves",
    "a lost umbrella",
    "coffee",
]

# (group, workflow, context, [templates]); context keys: mode, has_collection, has_documents, history_turns
T: list[tuple[str, str, dict[str, object], list[str]]] = [
    # ---------------- search_qa: open questions that need reading several sources
    (
        "sq-how",
        "search_qa",
        {},
        ["How did {topic} change the way people live?", "What led to {topic} becoming so important?"],
    ),
    (
        "sq-state",
        "search_qa",
        {},
        ["Where does research on {topic} stand these days?", "What has changed recently around {topic}?"],
    ),
    (
        "sq-debate",
        "search_qa",
        {},
        ["What are people arguing about when it comes to {topic}?", "Why is {topic} controversial?"],
    ),
    (
        "sq-country",
        "search_qa",
        {},
        [
            "How does healthcare work in {country}?",
            "What is daily life like for students in {country}?",
            "Why has the economy of {country} grown the way it has?",
        ],
    ),
    (
        "sq-person",
        "search_qa",
        {},
        ["What made {person} influential?", "How did {person} spend the last years of their life?"],
    ),
    ("sq-mech", "search_qa", {}, ["How does {topic} actually work?", "What goes on behind {topic}?"]),
    (
        "sq-impact",
        "search_qa",
        {},
        ["What impact did {thing} have on its city?", "Was {thing} considered a success when it opened?"],
    ),
    (
        "sq-advice",
        "search_qa",
        {},
        [
            "Is it worth switching to {topic} for a small business?",
            "What should I know before getting into {topic}?",
        ],
    ),
    (
        "sq-compare",
        "search_qa",
        {},
        [
            "How do {country} and {country2} differ in their approach to schooling?",
            "Compare public transport in {country} and {country2}.",
        ],
    ),
    # near-miss with rag: same questions without attached material
    ("sq-docnear", "search_qa", {}, ["In a typical {doc}, {docq}?", "Usually in a {doc}, {docq}?"]),
    ("sq-docplain", "search_qa", {}, ["{docq}?", "Generally speaking, {docq}?"]),
    (
        "sq-story",
        "search_qa",
        {},
        [
            "Give me the backstory of {topic}.",
            "What would happen if {topic} disappeared?",
            "What problems is {topic} running into right now?",
        ],
    ),
    # ---------------- search_qa_fast: single facts, short
    (
        "sf-capital",
        "search_qa_fast",
        {},
        ["capital of {country}", "{country} capital?", "What's the capital city of {country}?"],
    ),
    (
        "sf-born",
        "search_qa_fast",
        {},
        ["When was {person} born?", "{person} birth year", "year {person} was born"],
    ),
    ("sf-height", "search_qa_fast", {}, ["How tall is {thing}?", "height of {thing}", "{thing} height in meters"]),
    ("sf-currency", "search_qa_fast", {}, ["currency used in {country}", "What money do they use in {country}?"]),
    ("sf-author", "search_qa_fast", {}, ["Who made {work}?", "{work} release year", "who created {work}"]),
    ("sf-pop", "search_qa_fast", {}, ["population of {country}", "How many people live in {country}?"]),
    ("sf-open", "search_qa_fast", {}, ["When did {thing} open?", "{thing} opening date"]),
    (
        "sf-misc",
        "search_qa_fast",
        {},
        [
            "{person} nationality",
            "Is {country} in Europe?",
            "What year did {thing} open?",
            "{country} dialing code",
        ],
    ),
    ("sf-lang", "search_qa_fast", {}, ["official language of {country}", "What do they speak in {country}?"]),
    # ---------------- search_qa_strict_citations: evidence demanded, often without the word "cite"
    (
        "sc-claim",
        "search_qa_strict_citations",
        {},
        [
            "Is it actually true that {claim}?",
            "People say {claim}. Is that backed by anything?",
            "Does research support the idea that {claim}?",
        ],
    ),
    (
        "sc-report",
        "search_qa_strict_citations",
        {},
        [
            "I'm writing a report on {topic}; give me facts I can attribute to where they came from.",
            "For my thesis I need statements about {topic} that point to their origin.",
        ],
    ),
    (
        "sc-stats",
        "search_qa_strict_citations",
        {},
        [
            "What percentage of {country}'s electricity is renewable, and where does that figure come from?",
            "Give me the official unemployment rate for {country} with the publishing agency.",
        ],
    ),
    (
        "sc-medical",
        "search_qa_strict_citations",
        {},
        [
            "What do clinical trials say about {topic} and health?",
            "Only tell me what's established in the literature about {topic}.",
        ],
    ),
    (
        "sc-nohallu",
        "search_qa_strict_citations",
        {},
        [
            "Don't guess: what is known for certain about {person}'s early life, and who documented it?",
            "Answer only if you can point to where it is written: did {person} really say that famous quote?",
        ],
    ),
    (
        "sc-journalist",
        "search_qa_strict_citations",
        {},
        [
            "As a journalist I have to double-check this: {claim}.",
            "Before I publish, confirm or refute that {claim}, linking to what you relied on.",
        ],
    ),
    (
        "sc-legal",
        "search_qa_strict_citations",
        {},
        [
            "Which law in {country} governs data privacy? Point me to the statute itself.",
            "What does the official guidance in {country} say about {topic}? Quote it.",
        ],
    ),
    (
        "sc-origin",
        "search_qa_strict_citations",
        {},
        [
            "Who first claimed that {claim}, and where was it published?",
            "List the sources that discuss {topic}, and what each one says.",
            "I only trust primary documents: what do they say about {topic}?",
        ],
    ),
    # ---------------- self_ask_search_qa: multi-hop
    (
        "sa-when-built",
        "self_ask_search_qa",
        {},
        [
            "Who led {country} when {thing} was completed?",
            "Who was the head of state of {country} in the year {thing} opened?",
        ],
    ),
    (
        "sa-born-same",
        "self_ask_search_qa",
        {},
        [
            "Was {person} alive when {thing} was built?",
            "How old was {person} when {thing} was finished?",
        ],
    ),
    (
        "sa-creator-hop",
        "self_ask_search_qa",
        {},
        [
            "Where did the creator of {work} go to school?",
            "What else did the person behind {work} make?",
            "In which country was the creator of {work} born?",
        ],
    ),
    (
        "sa-compare",
        "self_ask_search_qa",
        {},
        [
            "Who was born first, {person} or {person2}?",
            "Did {person} and {person2} ever live in the same country?",
        ],
    ),
    (
        "sa-capital-hop",
        "self_ask_search_qa",
        {},
        [
            "What is the population of the capital of {country}?",
            "Which river runs through the capital of {country}?",
        ],
    ),
    (
        "sa-chain",
        "self_ask_search_qa",
        {},
        [
            "Which is older, {thing} or {thing2}, and by how many years?",
            "How many years passed between the opening of {thing} and {thing2}?",
        ],
    ),
    (
        "sa-spouse",
        "self_ask_search_qa",
        {},
        [
            "What did {person}'s spouse do for a living?",
            "Who taught the teacher of {person}?",
        ],
    ),
    # ---------------- rag_qa: the user's own documents (context flag or explicit reference)
    ("rq-ctx-docs", "rag_qa", {"has_documents": True}, ["{docq}?", "In short, {docq}?"]),
    (
        "rq-ctx-coll",
        "rag_qa",
        {"has_collection": True},
        ["{docq}?", "Summarize what we know about {topic}.", "What does it say about {topic}?"],
    ),
    (
        "rq-mine",
        "rag_qa",
        {},
        ["In the {doc} I sent you, {docq}?", "Going by my {doc}, {docq}?", "Check our {doc}: {docq}?"],
    ),
    (
        "rq-upload",
        "rag_qa",
        {"has_documents": True},
        ["Find every mention of {topic} in what I attached.", "Does this cover {topic} at all?"],
    ),
    (
        "rq-coll-how",
        "rag_qa",
        {"has_collection": True},
        ["How do we handle {topic} internally?", "Who on the team owns {topic}?"],
    ),
    (
        "rq-near",
        "rag_qa",
        {"has_documents": True},
        ["How does {topic} actually work?", "Why is {topic} controversial?"],
    ),
    # ---------------- lesson_pack: teaching material, few obvious cues
    (
        "lp-class",
        "lesson_pack",
        {},
        [
            "I'm covering {topic} with my 9th graders next week. Where do I start?",
            "Put together a 45-minute session on {topic} for twelve-year-olds.",
        ],
    ),
    (
        "lp-selfstudy",
        "lesson_pack",
        {},
        [
            "I want to really get {topic}, building up from zero.",
            "Can you take me through {topic} in stages and check I follow?",
        ],
    ),
    (
        "lp-test",
        "lesson_pack",
        {},
        [
            "Give me ten questions to see if I understood {topic}.",
            "Make a few problems on {topic} with answers at the end.",
        ],
    ),
    (
        "lp-plan",
        "lesson_pack",
        {},
        [
            "Outline a week-long unit on {topic} with activities.",
            "Design a short course on {topic} for adult learners.",
        ],
    ),
    (
        "lp-kid",
        "lesson_pack",
        {},
        [
            "How would I get my 8-year-old to understand {topic}?",
            "Explain {topic} for a child, then give a small activity to try.",
        ],
    ),
    (
        "lp-review",
        "lesson_pack",
        {},
        ["My exam on {topic} is Friday, help me prepare.", "Drill me on the key ideas of {topic}."],
    ),
    (
        "lp-near",
        "lesson_pack",
        {},
        [
            "What are the main ideas of {topic}, with a short exercise for each?",
            "Break {topic} into learning objectives and practice tasks.",
        ],
    ),
    # ---------------- chat_generate: conversation, creative, follow-ups
    (
        "cg-creative",
        "chat_generate",
        {},
        [
            "Write something short and sweet about {chat}.",
            "A few lines of verse about {chat}, please.",
            "Make up a bedtime tale involving {chat}.",
        ],
    ),
    (
        "cg-mood",
        "chat_generate",
        {"mode": "chat"},
        ["Honestly I'm not in a great mood today.", "I just got some good news and wanted to tell someone!"],
    ),
    (
        "cg-followup",
        "chat_generate",
        {"mode": "chat", "history_turns": 3},
        [
            "And what about the second one?",
            "Why do you say that?",
            "Can you make it shorter?",
            "Say that again but friendlier.",
            "Ok, which of those would you pick?",
        ],
    ),
    (
        "cg-followtopic",
        "chat_generate",
        {"mode": "chat", "history_turns": 2},
        ["What would {person} have thought of that?", "Does that apply to {country} too?"],
    ),
    (
        "cg-opinion",
        "chat_generate",
        {},
        [
            "Which do you like better, summer or winter?",
            "If you could visit {country} tomorrow, what would you do first?",
        ],
    ),
    (
        "cg-rewrite",
        "chat_generate",
        {},
        [
            "Turn this into something more polite: 'send me the file now'.",
            "Help me word a message telling my landlord the sink is broken.",
        ],
    ),
    (
        "cg-play",
        "chat_generate",
        {"mode": "chat"},
        ["Let's play twenty questions, you think of something.", "Pretend you're a pirate and greet me."],
    ),
    (
        "cg-near",
        "chat_generate",
        {"mode": "chat", "history_turns": 4},
        ["How tall is it again?", "When was that built, you said?"],
    ),
]

HAND: list[tuple[str, str, dict[str, object]]] = [
    ("Why do cats purr?", "search_qa", {}),
    ("What's behind the rise in housing prices in big cities?", "search_qa", {}),
    ("How are hurricanes named?", "search_qa", {}),
    ("What happened to the Maya civilization?", "search_qa", {}),
    ("Tell me about the history of jazz.", "search_qa", {}),
    ("What should I consider when choosing a heat pump?", "search_qa", {}),
    ("How is chocolate made from cacao beans?", "search_qa", {}),
    ("What's the deal with the ozone layer now?", "search_qa", {}),
    ("boiling point of water in fahrenheit", "search_qa_fast", {}),
    ("speed of light", "search_qa_fast", {}),
    ("How many legs does a spider have?", "search_qa_fast", {}),
    ("tallest mountain in Africa", "search_qa_fast", {}),
    ("Who painted the Mona Lisa?", "search_qa_fast", {}),
    ("atomic number of gold", "search_qa_fast", {}),
    ("How far is the moon?", "search_qa_fast", {}),
    ("Where is Timbuktu?", "search_qa_fast", {}),
    ("Is red wine good for your heart? I need the studies.", "search_qa_strict_citations", {}),
    ("Show me where it's documented that Einstein failed math.", "search_qa_strict_citations", {}),
    ("Give me only sourced facts on microplastics in drinking water.", "search_qa_strict_citations", {}),
    ("Fact-check: the Amazon produces 20% of the world's oxygen.", "search_qa_strict_citations", {}),
    ("Which peer-reviewed work measured the effect of screen time on sleep?", "search_qa_strict_citations", {}),
    ("What's the real evidence on whether 5G affects health?", "search_qa_strict_citations", {}),
    (
        "Who directed the film that won Best Picture the year Titanic sank... I mean was released?",
        "self_ask_search_qa",
        {},
    ),
    ("What language is spoken in the country where the Mona Lisa's painter died?", "self_ask_search_qa", {}),
    ("How many Olympic golds did the country that hosted the 1992 games win that year?", "self_ask_search_qa", {}),
    (
        "Which came first: the invention of the telephone or the end of the American Civil War?",
        "self_ask_search_qa",
        {},
    ),
    ("What team does the brother of Serena Williams' coach support?", "self_ask_search_qa", {}),
    (
        "Who was the US president when the first man walked on the moon, and where was he born?",
        "self_ask_search_qa",
        {},
    ),
    ("What does section 4 say?", "rag_qa", {"has_documents": True}),
    ("Summarize it.", "rag_qa", {"has_documents": True}),
    ("List the key dates.", "rag_qa", {"has_collection": True}),
    ("Any mention of penalties for late delivery?", "rag_qa", {"has_documents": True}),
    ("Which of our runbooks covers database failover?", "rag_qa", {"has_collection": True}),
    ("What did the board decide last quarter according to the minutes I uploaded?", "rag_qa", {}),
    ("Make me flashcards for Spanish irregular verbs.", "lesson_pack", {}),
    ("I keep mixing up mitosis and meiosis, can you sort me out with some practice?", "lesson_pack", {}),
    ("Prepare a worksheet on fractions for year 4.", "lesson_pack", {}),
    ("What should a beginner's guitar practice week look like, with exercises?", "lesson_pack", {}),
    ("Quiz me on world capitals.", "lesson_pack", {}),
    ("How would you teach long division to someone who hates maths?", "lesson_pack", {}),
    ("hey there", "chat_generate", {}),
    ("thanks, that helped a lot", "chat_generate", {"mode": "chat", "history_turns": 2}),
    ("Tell me something funny.", "chat_generate", {}),
    ("Write a haiku about Mondays.", "chat_generate", {}),
    ("Could you write a toast for my sister's wedding?", "chat_generate", {}),
    ("lol no, try again", "chat_generate", {"mode": "chat", "history_turns": 1}),
    ("Good night!", "chat_generate", {"mode": "chat"}),
    ("Describe a sunset as if you were a grumpy robot.", "chat_generate", {}),
]


def _fill(template: str) -> str:
    c1, c2 = rng.sample(COUNTRIES, 2)
    p1, p2 = rng.sample(PEOPLE, 2)
    t1, t2 = rng.sample(THINGS, 2)
    return template.format(
        topic=rng.choice(TOPICS),
        country=c1,
        country2=c2,
        person=p1,
        person2=p2,
        thing=t1,
        thing2=t2,
        work=rng.choice(WORKS),
        claim=rng.choice(CLAIMS),
        doc=rng.choice(DOCS),
        docq=rng.choice(DOC_QS),
        chat=rng.choice(CHAT_TOPICS),
    )


def _assign_splits(rows: list[dict[str, object]]) -> None:
    """Per workflow, a stable-hash-ordered quarter of its groups (whole groups) becomes the held-out split."""
    by_wf: dict[str, set[str]] = {}
    for r in rows:
        by_wf.setdefault(str(r["workflow"]), set()).add(str(r["group"]))
    test: set[str] = set()
    for groups in by_wf.values():
        ordered = sorted(groups, key=lambda g: hashlib.sha256(g.encode()).hexdigest())
        test.update(ordered[: max(1, round(len(ordered) * 0.25))])
    for r in rows:
        r["split"] = "test" if r["group"] in test else "train"


def _row(query: str, workflow: str, ctx: dict[str, object], group: str) -> dict[str, object]:
    q = query[0].upper() + query[1:] if rng.random() < 0.8 else query.lower()
    return {
        "query": q,
        "workflow": workflow,
        "mode": ctx.get("mode", "default"),
        "has_collection": bool(ctx.get("has_collection", False)),
        "has_documents": bool(ctx.get("has_documents", False)),
        "history_turns": int(ctx.get("history_turns", 0)),  # type: ignore[call-overload]
        "group": group,
        "split": "train",
    }


def main() -> None:
    rows: list[dict[str, object]] = []
    seen: set[tuple[str, str]] = set()
    for family, workflow, ctx, templates in T:
        for i, template in enumerate(templates):
            group, made = f"{family}#{i}", 0
            for _ in range(PER_TEMPLATE * 4):
                q = _fill(template)
                if (q.lower(), workflow) in seen:
                    continue
                seen.add((q.lower(), workflow))
                rows.append(_row(q, workflow, ctx, group))
                made += 1
                if made >= PER_TEMPLATE:
                    break
    for i, (q, workflow, ctx) in enumerate(HAND):
        rows.append(_row(q, workflow, ctx, f"hand-{workflow}-{i}"))
    _assign_splits(rows)
    rng.shuffle(rows)
    with OUT.open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} rows to {OUT}")


if __name__ == "__main__":
    main()
