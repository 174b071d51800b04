"""RouterV1's evidence: weighted regular expressions per workflow, written from data/router/requests/LABELS.md
and tuned on the curated train split (validation scored separately; the held-out set never consulted).

Each :class:`Rule` adds ``weight`` to one workflow when its pattern matches the lower-cased request. The
patterns below the rules recognise follow-ups, references to the user's own material and questions about the
world; :mod:`mm_orch.routing.router_v1` combines them with the request's context.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["FOLLOW_UP", "QUESTION", "REFERS", "RULES", "WORLD", "Rule"]


@dataclass(frozen=True, slots=True)
class Rule:
    """One piece of evidence: if ``pattern`` matches the lower-cased question, ``workflow`` gains ``weight``."""

    workflow: str
    pattern: re.Pattern[str]
    weight: float
    name: str


def _r(workflow: str, weight: float, name: str, pattern: str) -> Rule:
    return Rule(workflow, re.compile(pattern, re.IGNORECASE), weight, name)


_DOC_NOUNS = (
    r"(documents?|docs?|files?|pdfs?|notes|notebook|reports?|slides?|decks?|contracts?|manuals?|papers?|"
    r"spreadsheets?|sheets?|knowledge ?base|kb|collection|wiki|handbook|guides?|polic(y|ies)|transcripts?|"
    r"e-?mails?|minutes|invoices?|receipts?|statements?|memos?|readings|chapters?|thesis|cv|resume|runbooks?|"
    r"playbooks?|postmortems?|logs?|records?|letters?|handouts?|lecture notes|agreements?|leases?|ndas?|"
    r"terms|offer letter|purchase orders?|recipes?|protocols?|confluence( export)?|drive|folders?|uploads?|"
    r"attachments?|scans?|quotes|census|codes|specs?|specifications|proposals?|briefs?|plans?|schedules?|"
    r"itinerary|dissertation|drafts?|term sheet|filings?|articles?|course reader|reviews?|estimates?|"
    r"case stud(y|ies)|guidelines|instructions|paperwork|forms?|sow|code of conduct|journal|diary|bills?|payslips?|warrant(y|ies)|wordings?|claims?|files? i)"
)
_AUDIENCE = (
    r"(\d+|five|six|seven|eight|nine|ten|eleven|twelve)[- ]?(year[- ]olds?|yos?|y/o)|\w+ ?graders?|"
    r"(\d+(st|nd|rd|th)|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|\w+th) grade|"
    r"kids?|child(ren)?|students?|pupils?|beginners?|newbies?|novices?|undergrads?|freshmen|class|classes|"
    r"year \d+|grade \d+|ks\d|primary school|high ?school(ers)?|middle school(ers)?|kindergarten|"
    r"my (son|daughter|niece|nephew|team|staff|trainees|volunteers|new hires)"
)

RULES: tuple[Rule, ...] = (
    # lesson_pack: teaching artefacts, learning intent, an audience to teach
    _r(
        "lesson_pack",
        3.5,
        "lesson-artefact",
        r"\b(lessons?( plans?)?|worksheets?|quiz(zes)?(?! night)|flash ?cards?|study (guide|plan|notes|sheet)|"
        r"practice (problems?|questions?|exercises?|tests?|sets?)|exercises|drills?|unit plan|curriculum|"
        r"revision (notes|sheet|plan)|exam[- ]style|mock (exam|test)|(test|quiz|drill) me|learning (plan|path)|"
        r"crash course|mini[- ]lesson|tutorial|worked (examples?|solutions?)|lecture|syllabus|"
        r"(class|classroom|review|group) (activity|activities|game)|activit(y|ies) for|lesson on|"
        r"training session|course (outline|on)|outline for a (class|course|lesson|session|workshop)|"
        r"exam (prep|questions?)|test prep|multiple[- ]choice|true/false|fill[- ]in[- ]the[- ]blanks?)\b",
    ),
    _r(
        "lesson_pack",
        3.0,
        "teach",
        r"\b(teach(ing)?|tutor|coach) (me|us|my|a|an|the|kids|students|beginners|new|\w+ers|\w+ graders)\b|"
        r"\bhow (do|can|should|would) (i|we|you) (teach|explain|introduce)\b|\bhelp me (learn|understand|study|"
        r"revise|review|prepare|prep|get better|master|grasp)\b|\bi (want|need|would like|'d like) to (learn|"
        r"understand|study|get (good|better) at)\b|\bi'?m (studying|learning|revising|preparing for|cramming)\b",
    ),
    _r(
        "lesson_pack",
        2.5,
        "audience",
        r"\b(explain|describe|break down|simplify|introduce|present|lay out)\b.*\b(to|for|like) (a |an |my |the |"
        r"our )?(" + _AUDIENCE + r"|i'?m (five|5|\d+|a (kid|child|beginner)))\b|\beli5\b|"
        r"\bi'?m a (teacher|tutor|coach|ta|instructor|trainer|lecturer|professor|homeschool\w*)\b|"
        r"\bfor (my|our) (class|students|kids|pupils|lesson|course|team training|trainees|homeschool)\b",
    ),
    _r(
        "lesson_pack",
        2.5,
        "for-audience",
        r"\b(for|to) (a |an |my |the |our |some )?(" + _AUDIENCE + r"|seniors|adults|teens|teenagers|"
        r"a (total )?(noob|beginner)|homeschool\w*|\w+ learners|esl)\b|\bteach(ing|es)?\b|\b(unit|class|"
        r"session|module|course|workshop|seminar) (on|about|for)\b|\bmini[- ]?course\b|\bmaterials? (about|on|"
        r"for)\b|\bpracti[cs]e\b|\bmemori[sz]e\b|\bcheck my understanding\b|\b(sample|more|\d+) questions\b|"
        r"\bhands[- ]on\b|\bplacement test\b|\btest on\b|\bi have a test\b",
    ),
    _r(
        "lesson_pack",
        2.0,
        "learning",
        r"\b(walk me through|step[- ]by[- ]step|from scratch|for beginners|beginner'?s|basics of|"
        r"fundamentals of|intro(duction)? to|get up to speed|don'?t just give me the answer|show me how to "
        r"(solve|do|work)|explain (it|this|that) (again|another way|differently|simpler)|i (still )?don'?t "
        r"(get|understand)|make (it|this) (simpler|easier)|simplify|exam|revision|homework|gcse|a[- ]levels?|"
        r"learn|explain|understand)\b",
    ),
    # search_qa_strict_citations: evidence demands
    _r(
        "search_qa_strict_citations",
        3.0,
        "cite",
        r"\b(cite|citations?|cited|citing|references?|bibliograph\w*|sources?|sourced|footnotes?|"
        r"peer[- ]reviewed|primary literature|with links|link(s)? to|fact[- ]check\w*|don'?t (guess|make (it|"
        r"anything|stuff) up)|no (guessing|speculation)|only what the (sources|evidence|record)|verif(y|ied|"
        r"iable)|evidence|proof|back (it|this|that) up|substantiat\w+|documented|for my (paper|essay|thesis|"
        r"article|report|dissertation)|is it (true|a myth|accurate)|true that|debunk\w*|myth)\b",
    ),
    _r(
        "search_qa_strict_citations",
        1.5,
        "claims",
        r"\b(claims?|claimed|rumou?rs?|allegedly|reliable|accurate|studies)\b",
    ),
    # self_ask_search_qa: comparisons, bridges, compositions of two facts
    _r(
        "self_ask_search_qa",
        3.0,
        "comparison",
        r"\b(older|younger|taller|shorter|longer|bigger|larger|smaller|higher|lower|heavier|lighter|richer|"
        r"poorer|faster|slower|further|farther|earlier|later|deeper|wider|hotter|colder|more populous|more "
        r"\w+|fewer \w+|less \w+)\b.*\b(or|than|vs\.?|versus)\b|\b(or|vs\.?|versus)\b.*\b(older|younger|taller|"
        r"longer|bigger|larger|higher|more|first|earlier|later|further|farther)\b",
    ),
    _r(
        "self_ask_search_qa",
        3.0,
        "who-first",
        r"\b(who|which)\b.*\b(died|was born|came|lived|ruled|won|reigned|was (older|younger)|started|"
        r"happened|was built|was founded|existed|arrived|published)\b.*\b(first|earlier|later|longer|before "
        r"the other)\b|\b(born|died|founded|built|invented|written) (before|after)\b.*\b(died|was born|"
        r"founded|built|reached|started|ended|invented|was)\b|\bsettle (an|a|this) (argument|debate|bet)\b",
    ),
    _r(
        "self_ask_search_qa",
        3.0,
        "bridge",
        r"(?<!^who's )(?<!^whos )(?<!^who is )(?<!^who was )\b(the|a) (\w+ )?(country|city|town|state|team|club|band|group|company|person|man|woman|guy|author|"
        r"writer|director|composer|painter|artist|singer|actor|actress|scientist|inventor|architect|player|"
        r"university|place|river|island|mountain|empire|ship|film|movie|book|novel|show|album|one|president|"
        r"king|queen|leader|founder|owner|coach|manager|mother|father|wife|husband|son|daughter|rival|"
        r"teacher|student)s? (where|that|who|which|whose|with|behind|whom|in which|known for|famous for)\b",
    ),
    _r(
        "self_ask_search_qa",
        2.5,
        "nested-of",
        r"\b(born|birthplace|located|capital|currency|language|population|president|leader|ceo|founder|author|"
        r"director|mayor|spouse|wife|husband|height|age|nationality|flag|anthem|religion|timezone|time zone|"
        r"highest|tallest|longest|largest|biggest|oldest|name|hometown)\b (\w+ ){0,3}(of|in|from|for|by) (the|"
        r"a|an|his|her|their|its) (\w+ ){0,3}(of|in|that|who|which|whose|where|from|by)\b|"
        r"\b\w+'s \w+'s\b|\w \b(when|while|at the time|in the year|the year)\b.*\b(was|were)\b.*\b(built|founded|"
        r"born|invented|released|elected|died|signed|published|discovered|won|started|opened)\b",
    ),
    _r(
        "self_ask_search_qa",
        2.0,
        "composition",
        r"\bhow (old|long|many years)\b.*\b(when|after|before|between|since|would|if)\b|(?<=\w)[,;]? "
        r"(and|then) (what|whats|what's|where|who|whose|how|when|which)\b.*\b(his|her|their|they|he|she|him)\b|"
        r"\b(both|in common|the same (year|country|city|team))\b|\bcombined\b|\bdifference in (age|years|"
        r"height)\b",
    ),
    _r(
        "self_ask_search_qa",
        2.5,
        "role-of",
        r"\b(where|when|what|which|how|in what|in which|whats|what's)\b.*\bthe (\w+ )?(author|composer|director|"
        r"architect|founder|father|mother|son|daughter|wife|husband|widow|inventor|creator|painter|writer|"
        r"singer|owner|coach|captain|president|leader|ceo|king|queen|emperor|pharaoh|discoverer|designer|"
        r"builder|star|lead singer|drummer|guitarist|winner|parents?|brother|sister|successor|predecessor|"
        r"first \w+|mayor|prime minister|monarch|home country|homeland|birthplace) of (the )?\w+|"
        r"\b(who|what|which)\b.*\b(when|while|at the time|the year|the same year) (the|a|an|he|she|it|they|"
        r"his|her|that) (\w+ ){0,4}(fell|won|died|was|were|began|ended|started|opened|closed|happened|came|took|"
        r"sank|landed|broke|invaded|signed|launched|built|founded|\w+ed)\b|\b(who|what)\b (\w+ed|wrote|built|won|sang|ran|led|made|drew|took|found|ruled|beat) "
        r"(the|a) (\w+ ){0,2}(\w+est|most \w+|first|last|current|eldest|youngest|oldest)\b|\b(of|in|from|at|near) \w+'s (\w+ )?"
        r"(capital|largest city|biggest city|currency|president|leader|spouse|wife|husband|founder|author|"
        r"hometown|birthplace|language)\b",
    ),
    # search_qa_fast: the user asks for speed or a bare answer
    _r(
        "search_qa_fast",
        3.0,
        "quick-ask",
        r"\b(quick(ly)?|quick q|just (the|tell|give|say|a|need the|want the)|one word|short answer|brief(ly)?|"
        r"in short|tl;?dr|asap|real quick|no details|no explanation|without (explanation|details)|only the "
        r"(year|date|name|number|answer|figure)|bare|in a word|yes or no|fast|in a hurry|hurry|no (need for|"
        r"long|essay|fluff|waffle)|keep it short|short pls|short please|straight answer|number only|just "
        r"answer)\b",
    ),
    # search_qa: open factual questions (the default family)
    _r(
        "search_qa",
        1.0,
        "factual",
        r"^(what|who|when|where|which|why|how|whats|what's|wheres|who's|whos|is|are|was|were|did|does|do)\b|"
        r"\b(tell me about|what is|what are|who was|who is|history of|meaning of|define|definition of|facts "
        r"about|how does|how do|how did|what causes|what happened)\b|\b(what|who|when|where|which|how)('s|s| is| "
        r"was| are| were| did| does| many| much| old| long| far| deep| tall| big| high)\b",
    ),
    # rag_qa: the user's own material
    _r(
        "rag_qa",
        3.5,
        "my-docs",
        r"(?<!for )\b(my|our|these|this|those|the attached|the uploaded|the provided|the enclosed|the indexed|"
        r"the ingested|the shared|the scanned|my own|our own)\s+((?!for\b|to\b|a\b|an\b|the\b)[\w']+[- ]?){0,2}"
        + _DOC_NOUNS
        + r"\b",
    ),
    _r(
        "rag_qa",
        3.5,
        "i-uploaded",
        r"\b(i|we|you) ((have |had |just |already )?(uploaded|ingested|indexed|added|shared|attached|gave you|"
        r"put in|put up|scanned|imported|saved|sent you|loaded|dropped|fed you|stored|provided))\b|"
        r"\byou have (my|our|the)\b|\bin (my|our) (files|docs|documents|collection|drive|folder|library)\b",
    ),
    _r(
        "rag_qa",
        2.5,
        "in-the-doc",
        r"\b(according to|based on|from|in|search|check|look (in|through)|go through|scan|using|within|"
        r"per) (the|my|our) (\w+[- ]?){0,2}" + _DOC_NOUNS + r"\b|\b(search|grep|look through|find in) (my|our|"
        r"the) \w+",
    ),
    _r(
        "rag_qa",
        3.0,
        "doc-says",
        r"\b(what|where|how|which|does|do|did|is|are)\b.{0,12}\b(my|our|the|this|that|these|those|his|her|"
        r"their)\b [\w' -]{1,50}\b(say|says|said|mention|mentions|list|lists|state|states|cover|covers|include|"
        r"includes|recommend|recommends|specify|specifies|talk about|talks about)\b|\b(say|says|mention|"
        r"mentions|mentioned) (anything|something) (about|on)\b|\bdid i (save|write down|note|write|jot|"
        r"put down|record)\b|\bdo i have (any )?(notes|anything|files|docs)\b|\bmy saved\b",
    ),
    _r(
        "rag_qa",
        2.0,
        "the-doc",
        r"\b(the|that) (\w+[- ]?){0,2}(contract|handbook|nda|lease|policy document|manual|runbook|playbook|"
        r"minutes|invoice|expense report|offer letter|purchase order|meeting notes|slides|deck|memo|"
        r"transcript|spreadsheet|pdf|doc|document|report|notes|agreement|terms and conditions|readings|"
        r"knowledge base|kb|wiki|postmortem|protocol|handout|syllabus|statement|policy wording)s?\b",
    ),
    _r(
        "rag_qa",
        1.5,
        "internal",
        r"\b(internal|onboarding|our company|our team|our policy|page \d+|section \d+|clause \d+|appendix|"
        r"chapter \d+|line items?|paragraph \d+)\b",
    ),
    # chat_generate: conversation, creative writing, rewriting, advice, opinions
    _r(
        "chat_generate",
        3.5,
        "creative",
        r"\b(write|compose|draft|make( up)?|create|generate|come up with|give me|suggest|brainstorm|invent|"
        r"think of|need|help me (write|draft|come up with|with)|pen|craft|can you (do|write|make))\b (me |us )?"
        r"(a|an|some|\d+|a few|few|another|more|one|my|our|the perfect|something|cute|funny|fun|short|nice|"
        r"good|catchy|polite|quick|list of)\b.*\b(poems?|"
        r"story|stories|song|haiku|limerick|jokes?|riddles?|toast|speech|letter|e-?mail|caption|tweet|post|"
        r"slogans?|rap|lyrics|message|text|note|card|bio|tagline|names?|nicknames?|ideas|vows|excuse|puns?|"
        r"titles?|headlines?|invitation|apology|reply|response|cover letter|review|sonnet|ballad|verse|"
        r"rhyme|script|dialogue|monologue|eulogy|obituary|announcement|icebreakers?|pick[- ]?up lines?|"
        r"comebacks?|roast|shower thoughts|fortune|horoscope|wishes|greeting|newsletter|blurb|ad|advert|"
        r"pitch|motto|hashtags?)\b",
    ),
    _r(
        "chat_generate",
        3.0,
        "edit-text",
        r"\b(rewrite|re-write|rephrase|paraphrase|proofread|proof-read|reword|edit|polish|tidy up|clean up|"
        r"fix (my|the|this) (wording|grammar|spelling|text|sentence|english)|correct (my|this|the) (text|"
        r"grammar|english|spelling|sentence|email|message)|make (it|this|that) (shorter|longer|funnier|nicer|"
        r"more|less|sound|rhyme|formal|casual)|shorten|translate|summari[sz]e (this|the following|what i)|"
        r"turn (this|that|it) into|in the style of|more formal|less formal|for tone|sound (more|less|better)|"
        r"simplify this text|improve (my|this))\b",
    ),
    _r(
        "chat_generate",
        2.5,
        "personal",
        r"\b(how are you|how'?s it going|how you doing|what'?s up|wassup|sup|what do you think|your (opinion|"
        r"take|thoughts|favou?rite|name)|do you (like|think|remember|have|ever|feel|believe|dream|know me)|are "
        r"you (a|an|real|human|ok|okay|there|alive|conscious|sentient|able)|can you remember|who (made|created|"
        r"built|trained) you|what are you|who are you|tell me (a joke|something (funny|nice|interesting))|"
        r"should i|would you|recommend|recommendations?|advice|advise|any tips|tips (for|on)|what should i|"
        r"help me (decide|choose|pick|plan|figure out)|pros and cons|i feel|i'?m (so |really |kinda |a bit )?"
        r"(sad|bored|tired|happy|stressed|nervous|anxious|lonely|burnt out|exhausted|excited|scared|worried|"
        r"upset|angry|depressed|overwhelmed|heartbroken)|vent|cheer me up|let'?s (chat|talk|play)|play a game|"
        r"imagine|pretend|role ?play|debate|rate my|rank (these|my)|opinion|overrated|underrated|favou?rite|"
        r"set a timer|remind me|what'?s your|you think|motivate me|i love you|miss (you|her|him|my)|"
        r"plan (a|my|our)|ideas for|how (do|can|should) i (stop|deal|cope|handle|get over|tell|ask|convince|"
        r"make friends|motivate|stay|be more|say no|apologi[sz]e|get (him|her|them|my))|any ideas)\b",
    ),
    _r(
        "chat_generate",
        3.0,
        "greeting",
        r"^(hi+|hello+|hey+|heya|hiya|howdy|yo|sup|good (morning|evening|afternoon|night)|morning|evening|"
        r"thanks|thank you|thx|ty|tysm|cheers|ok(ay)?|k|cool|great|nice|lol|lmao|haha\w*|bye|goodbye|see ya|"
        r"see you|gn|gm|wow|awesome|perfect|sorry|oops|omg|ugh|yay|yes|no|nope|yep|sure|hmm+|love it|that'?s "
        r"(great|perfect|helpful|funny|hilarious|amazing|awesome|beautiful|lovely)|you'?re (the best|awesome|"
        r"funny|great|amazing|a lifesaver))\b",
    ),
    _r(
        "search_qa",
        0.75,
        "definition",
        r"^(what is|what's|whats|what are|define|meaning of|who is|who was|who's|whos)\b",
    ),
    _r(
        "chat_generate",
        2.0,
        "creative-noun",
        r"\b(poems?|haikus?|limericks?|sonnets?|lyrics|a (short )?story|stories|song about|rap about|rhymes?|"
        r"rhyming|jingle|fairy ?tale|bedtime story|fan ?fiction|knock[- ]knock|would[- ]you[- ]rather|"
        r"scavenger hunt|party games?|icebreakers?|tweet|instagram|caption)\b",
    ),
    _r(
        "chat_generate",
        2.0,
        "feelings",
        r"\b(yourself|about me|you'?re|are you|you are|do you|talk to me|i hate|i can'?t (sleep|stop|"
        r"believe|focus)|am i (crazy|wrong|weird|normal|the only)|fight|argument with my|breakup|broke up|"
        r"my (boss|girlfriend|boyfriend|wife|husband|mom|mum|dad|friend|sister|brother|partner|ex) (is|said|"
        r"won'?t|keeps|doesn'?t)|polite way|nice way|how do i (fix|say|word|respond|reply)|what would you|"
        r"fun (things|ideas|activities|to do)|something fun|bored|boring|lonely|cheer|birthday|anniversary|"
        r"wedding|party|date night|gift|present for|dinner ideas|what to (cook|eat|watch|read|wear|get)|"
        r"stop giving|be (nicer|shorter|funnier)|defend it|convince me|change my mind|hot take|unpopular)\b",
    ),
    _r(
        "chat_generate",
        2.5,
        "generate",
        r"\b(write|compose|pen|brainstorm|pitch me|come up with|help me name|name (my|our|it)|ideas\?|"
        r"ideas for|any ideas|pep talk|diary entry|fable|playlist|prompts|taglines?|give me (a|some|\d+|two|"
        r"three|four|five|ten|a few) (\w+ ){0,3}(names|ideas|titles|taglines|prompts|questions|options|"
        r"suggestions|tips|reasons|ways)|be my friend|what can you do|what kind of things|tell me something)\b|"
        r"\b(make|create|build|plan|put together) (me )?(a|an|my|our) (\w+ ){0,3}(plan|list|routine|schedule|"
        r"itinerary|playlist|menu|budget|packing list|checklist|agenda)\b",
    ),
    _r("chat_generate", 1.5, "pasted-text", r"[:\-]\s*[\"'“‘].{25,}|\"[^\"]{40,}\"|'[^']{40,}'"),
)

QUESTION = re.compile(r"\b(what|what's|whats|who|who's|whos|when|where|which|how|why)\b")
#: A follow-up marker: the request leans on the previous turn ("and when did he die?", "now make it a quiz").
FOLLOW_UP = re.compile(
    r"^(and|but|so|also|now|then|ok|okay|what about|how about|same|again|more|another|next|continue|"
    r"make it|do it|can you|could you|what if|why|really|wait)\b|\b(it|that|this|those|these|them|he|she|"
    r"they|his|her|their|its|there|the one|one more|again)\b",
    re.IGNORECASE,
)
#: Pronouns and definite references that point at the user's material when they have a collection.
REFERS = re.compile(
    r"\b(it|this|that|they|them|in there|in here|the doc\w*|the file|the report|the text|the paper|the "
    r"guide|the book|the notes|says?|mention\w*|according|section|page|clause|chapter|list\w*|quote|"
    r"summar\w*|find|search|which of|any of)\b",
    re.IGNORECASE,
)
#: A request about the world from a user who happens to have documents: words that say "not my files".
WORLD = re.compile(r"\b(in the world|history|ever|world|country|countries|planet|famous|century)\b", re.I)
