"""Candidate incidents in a news report, by rules and dictionaries, for an analyst to review.

A report is cut into sentences and a sentence into clauses ("..., while ..."), so that a
sentence about two theatres gives two incidents. A clause describes an incident when it has
an event word (missile, air strike, clashes, ...) and a place; a clause with event words but
no place adds to the incident just before it ("the damage was caused by rockets"). Clauses
that describe the background ("recent strikes", "the ongoing conflict") give none. Incidents
of one day and place are merged, and a country named alone merges into a more precise place
of the same country. Each candidate carries a confidence and the reasons for it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field

from text_to_num import alpha2digit

from risk.news.actors import Actor, ActorGroups, load_actor_groups
from risk.news.gazetteer import Gazetteer, Place, load_gazetteer
from risk.news.matching import Match, Token, tokens, unique
from risk.news.reading import NewsReport
from risk.news.when import DATE_PHRASE, DateMention, find_dates

NATIVE_COLUMNS = (
    "date",
    "country",
    "admin1",
    "location",
    "latitude",
    "longitude",
    "event_type",
    "actor1",
    "actor2",
    "fatalities",
    "notes",
    "source",
)


def _cues(*pairs: tuple[str, int]) -> list[tuple[re.Pattern[str], int]]:
    return [(re.compile(rf"\b(?:{pattern})\b", re.IGNORECASE), weight) for pattern, weight in pairs]


# Event words per category, with a weight: weapon words outweigh a bare "attack".
CATEGORY_CUES: dict[str, list[tuple[re.Pattern[str], int]]] = {
    "remote_violence": _cues(
        (r"(?:ballistic |cruise )?missiles?|rockets?|drones?|UAVs?|projectiles?", 3),
        (r"air ?strikes?|airstrikes?|air raids?|drone strikes?|bombard\w*|bomb(?:s|ed|ing)?", 3),
        (r"shell(?:ing|ed|s)|artillery|mortars?|IEDs?|explosives?|explosions?|blasts?", 3),
        (r"strikes?|struck|warplanes?|jets? (?:hit|struck)|car bomb|suicide bomb\w*", 2),
    ),
    "battle": _cues(
        (r"clash(?:es|ed)?|fighting|fought|gun ?battles?|gunfights?|firefights?", 3),
        (r"ambush(?:ed)?|exchange[ds]? of fire|exchanged fire|opened fire|stormed", 3),
        (r"raids?|raided|assault(?:ed)?|battles?", 2),
        (r"attack(?:s|ed)?", 1),
    ),
    "violence_against_civilians": _cues(
        (r"execut(?:ed|ion)|massacre[ds]?|abduct(?:ed|ion)|kidnapp(?:ed|ing)|lynched", 3),
        (r"set(?:ting)? fire to|torch(?:ed|ing)|arson|shot dead|shooting dead|gunned down", 2),
        (r"stabb(?:ed|ing)|beat(?:en|ing) to death", 2),
    ),
    "riot": _cues(
        (r"riots?|rioters?|rioting|mob", 3),
    ),
    "protest": _cues(
        (r"protests?|protesters|protested|demonstrations?|demonstrators|rall(?:y|ies)|sit-ins?", 3),
    ),
    "strategic": _cues(
        (r"arrest(?:ed|s)?|detained|seized", 2),
    ),
}
# Words that make a clause violent without saying how ("killed", "wounded").
HARM_WORDS = re.compile(
    r"\b(?:killed|killing|dead|died|wounded|injured|injuries|wounds|casualties|martyred)\b", re.I
)
# The clause tells of a pattern or the context, not of one event.
BACKGROUND = re.compile(
    r"\b(?:recent(?:ly)?|ongoing|continu(?:e|es|ed|ing)|repeated(?:ly)?|frequent(?:ly)?|"
    r"rising number|series of|spate of|campaign|has triggered|have triggered|"
    r"in recent (?:days|weeks|months)|over the past|for (?:weeks|months|years)|since (?:the|last)|"
    r"maintains|presence)\b",
    re.I,
)
# The clause tells what might happen, not what did.
HYPOTHETICAL = re.compile(
    r"\b(?:would|could|might|threaten(?:s|ed)? to|vowed|pledged|warned|any)\b", re.I
)
# "BAGHDAD, Jan 21 (Reuters) - ": the dateline gives the report's date, not the event's.
DATELINE = re.compile(
    r"^[A-Z][A-Z .'’-]+,(?:\s*[A-Z][\w ]+,)?\s*(?:[A-Z][a-z]+\.?\s+\d{1,2},?(?:\s+\d{4})?|"
    r"\d{1,2}\s+[A-Z][a-z]+\.?(?:\s+\d{4})?|\d{4}-\d{2}-\d{2})?\s*(?:\([^)]*\))?\s*[-–—]+\s*"
)
_CLAUSE_BREAK = re.compile(r";|,?\s+while\s+|,?\s+whereas\s+|,\s+meanwhile,?\s+|\s+Meanwhile,?\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’']?\s+(?=[\"“‘']?[A-Z0-9])")
_ABBREVIATION = re.compile(
    r"\b(?:U\.S|U\.K|U\.N|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|Gen|Lt|Col|Maj|"
    r"Capt|Sgt|Mr|Mrs|Ms|Dr|St|No|Adm|Brig)\.$"
)
# Words after an actor's name that make it the source of the news, not a party to the event.
_SPEAKER = re.compile(
    r"^\W*(?:officials?|spokes(?:man|woman|person)|sources?|media|ministry|statement|envoy|"
    r"ambassador|embassy|president|prime minister|official said|state media|news agency|"
    r"police said|police says|police reported|"
    r"army said|military said|monitor)\b",
    re.I,
)
_DESCRIBES_AFTER = re.compile(
    r"^\s+(?:resort|port|city|town|coast|village|province|island)s?\s+(?:of|town|city)\b", re.I
)
_QUALIFIER_AFTER = re.compile(r"^-(?:backed|aligned|led|allied|affiliated|linked|sponsored)", re.I)
_CLAIM_AFTER = re.compile(
    r"^\W*(?:\w+\W+){0,12}?claimed\b|^\W*said it (?:carried out|launched)", re.I
)
_ATTRIBUTION_BEFORE = re.compile(
    r"(?:attribut\w+ (?:it |the \w+ )?to|blam\w+ (?:it )?on|blamed|accused|by|launched by|"
    r"fired by|carried out by)\s+(?:the\s+)?(?:\S+\s+)?$",
    re.I,
)
_TARGET_BEFORE = re.compile(
    r"(?:on|against|targeting|targeted|at|hit|hitting|struck|striking|killing|killed|wounding|"
    r"toward|towards|near)\s+(?:the\s+|a\s+|an\s+)?(?:\S+\s+)?$",
    re.I,
)
_TARGET_AFTER = re.compile(
    r"^[^,;.]{0,80}?\b(?:suffered|sustained|were (?:hit|injured|wounded|killed|targeted)|"
    r"was (?:hit|injured|wounded|killed|targeted)|came under|lost|reported casualties)\b",
    re.I,
)
_WEAPON_AFTER = re.compile(
    r"^\W*(?:\w+\W+){0,1}?(?:strikes?|airstrikes?|air strikes?|missiles?|rockets?|drones?|"
    r"shelling|jets|warplanes|attacks?|raids?|fire|artillery|forces? (?:struck|fired|shelled))\b",
    re.I,
)
_ACTS_AFTER = re.compile(
    r"^\W*(?:\w+\W+){0,2}?(?:struck|hit|targeted|destroyed|intercepted|shot down|downed|"
    r"launched|fired|attacked|bombed|shelled|killed|raided|stormed|carried out|said it)\b",
    re.I,
)
_LOCATIVE_BEFORE = re.compile(
    r"(?:in|into|inside|across|over|near|off|(?:north|south|east|west) of|from|throughout|"
    r"southern|northern|eastern|western|central|north|south|east|west|coast of)\s+(?:the\s+)?$",
    re.I,
)
_NAMED_NEAR = re.compile(
    r"\b(?:town|village|hamlet|camp|area|neighbourhood|neighborhood) of "
    r"([A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+){0,2})\s+(?:near|outside|north of|south of|east of|"
    r"west of)\s"
)
_UNKNOWN_PLACE = re.compile(
    r"\b(?:(?:town|village|city|camp|district|outskirts|area|suburb) of|in|near|at)\s+"
    r"([A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+){0,2})"
)
DATE_WORDS = re.compile(
    r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march|april|"
    r"may|june|july|august|september|october|november|december|the)\b",
    re.I,
)
_CLAIM = re.compile(
    r"\b(?:claim(?:ed|s|ing)?\b|took responsibility|said (?:it|they) (?:had )?"
    r"(?:carried out|launched|targeted|fired|attacked))",
    re.I,
)
_ANOTHER_STORY = re.compile(
    r"^\W*(?:separately|elsewhere|in another|in a separate|meanwhile|also on|in other)\b", re.I
)
_NONE_KILLED = re.compile(
    r"\bno (?:one|casualties|deaths|fatalities|injuries|deaths or injuries)\b|"
    r"\bwithout (?:casualties|causing casualties)|\bno reports? of (?:casualties|injuries)|"
    r"\bnobody was (?:killed|hurt)",
    re.I,
)
_NUMBER = r"(\d[\d,]*)"
_HEDGE = r"(?:at least |some |about |around |nearly |almost |more than |up to |over )?"
_KILLED_COUNTS = [
    re.compile(rf"\b(?:killing|killed|kills|left|leaving)\s+{_HEDGE}{_NUMBER}\b", re.I),
    re.compile(
        rf"\b{_NUMBER}\s+(?:(?!wounded|injured|and\b|or\b)[a-z'-]+\s+){{0,4}}?"
        r"(?:were |was |have been |had been |are |reportedly )*(?:killed|dead|died|deaths|"
        r"fatalities|martyred|lost their lives)\b",
        re.I,
    ),
    re.compile(rf"\bdeath toll (?:\w+ ){{0,3}}?{_HEDGE}{_NUMBER}\b", re.I),
]
_ONE_KILLED = re.compile(
    r"\b(?:killing|killed|shooting dead|shot dead|gunning down|gunned down)\s+(?:a|an)\s+"
    r"(?!number)\w+|\b(?:a|an)\s+(?:\w+\s+){0,3}?"
    r"(?:was|were)\s+killed\b",
    re.I,
)


@dataclass
class Candidate:
    """One incident the report describes, in the native format's terms, with its evidence."""

    date: dt.date | None
    country: str
    admin1: str
    location: str
    latitude: float | None
    longitude: float | None
    category: str
    actor1: str
    actor2: str
    fatalities: int | None
    notes: str
    source_text: str
    confidence: float
    reasons: list[str]

    def as_json(self) -> dict[str, object]:
        return {
            "date": self.date.isoformat() if self.date else None,
            "country": self.country,
            "admin1": self.admin1,
            "location": self.location,
            "latitude": self.latitude,
            "longitude": self.longitude,
            "category": self.category,
            "actor1": self.actor1,
            "actor2": self.actor2,
            "fatalities": self.fatalities,
            "notes": self.notes,
            "source_text": self.source_text,
            "confidence": self.confidence,
            "reasons": self.reasons,
        }


@dataclass
class Extraction:
    """What a report yielded: its date and title, and the candidates."""

    report_date: dt.date
    title: str
    origin: str
    incidents: list[Candidate]

    def as_json(self) -> dict[str, object]:
        return {
            "report_date": self.report_date.isoformat(),
            "title": self.title,
            "incidents": [c.as_json() for c in self.incidents],
        }


# -- working state --------------------------------------------------------------------------
@dataclass
class _Draft:
    place: Place
    date: dt.date
    date_note: str
    scores: dict[str, int] = field(default_factory=dict)
    cue_words: list[str] = field(default_factory=list)
    attackers: dict[str, int] = field(default_factory=dict)
    targets: dict[str, int] = field(default_factory=dict)
    fatalities: int | None = None
    none_killed: bool = False
    harm: bool = False
    sentences: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add_scores(self, scores: dict[str, int], words: list[str]) -> None:
        for category, weight in scores.items():
            self.scores[category] = self.scores.get(category, 0) + weight
        self.cue_words = unique([*self.cue_words, *words])

    def add_roles(self, attackers: dict[str, int], targets: dict[str, int]) -> None:
        for name, weight in attackers.items():
            self.attackers[name] = max(self.attackers.get(name, 0), weight)
        for name, weight in targets.items():
            self.targets[name] = max(self.targets.get(name, 0), weight)

    def add_sentence(self, sentence: str) -> None:
        if sentence not in self.sentences:
            self.sentences.append(sentence)


def split_sentences(text: str) -> list[tuple[int, str]]:
    """(paragraph number, sentence) for every sentence; section headings are left out."""
    found = []
    for number, paragraph in enumerate(re.split(r"\n\s*\n|\n(?=\S)", text)):
        paragraph = " ".join(paragraph.split())
        if not paragraph or paragraph.endswith(":"):
            continue
        pieces = _SENTENCE_END.split(paragraph)
        merged: list[str] = []
        for piece in pieces:
            if merged and _ABBREVIATION.search(merged[-1]):
                merged[-1] = f"{merged[-1]} {piece}"
            else:
                merged.append(piece)
        found.extend((number, s) for s in merged if s)
    return found


def _category_scores(text: str) -> tuple[dict[str, int], list[str]]:
    scores: dict[str, int] = {}
    words: list[str] = []
    taken: list[tuple[int, int]] = []
    for category, cues in CATEGORY_CUES.items():
        for pattern, weight in cues:
            for match in pattern.finditer(text):
                if any(s < match.end() and match.start() < e for s, e in taken):
                    continue  # "drone strike" counts once
                taken.append(match.span())
                scores[category] = scores.get(category, 0) + weight
                words.append(match.group().lower())
    return scores, words


def _fatalities(text: str) -> tuple[int | None, bool]:
    """(number killed or None, whether the text says no one was killed)."""
    if _NONE_KILLED.search(text):
        return None, True
    # Dates ("Wednesday 14 February killed ...") are not death tolls.
    numeric = alpha2digit(DATE_PHRASE.sub(" on that day ", text), "en", threshold=0)
    counts = [
        int(m.group(1).replace(",", ""))
        for pattern in _KILLED_COUNTS
        for m in pattern.finditer(numeric)
        if m.group(1).replace(",", "").isdigit()
    ]
    counts = [c for c in counts if c < 10_000]  # larger numbers here are years or troop levels
    if counts:
        return max(counts), False
    if _ONE_KILLED.search(text):
        return 1, False
    return None, False


class Extractor:
    """Finds candidate incidents with a gazetteer and actor groups (the shipped ones by default)."""

    def __init__(
        self, gazetteer: Gazetteer | None = None, actors: ActorGroups | None = None
    ) -> None:
        self.gazetteer = gazetteer or load_gazetteer()
        self.actors = actors or load_actor_groups()

    # -- one clause ---------------------------------------------------------------------------
    def _mentions(
        self, clause: str, words: list[Token]
    ) -> tuple[list[Match[Place]], list[Match[Actor]]]:
        places = self.gazetteer.find(clause, words)
        actors = self.actors.find(clause, words)
        kept_places, kept_actors = [], []
        for match in places:
            after = clause[match.end :]
            before = clause[: match.start]
            if _QUALIFIER_AFTER.match(after) or before.lower().endswith("pro-"):
                continue
            if _DESCRIBES_AFTER.match(after):
                continue  # "the Red Sea resort of Eilat": the place is the one named next
            as_actor = next((a for a in actors if a.start == match.start), None)
            if any(
                a.start <= match.start and match.end <= a.end and a is not as_actor for a in actors
            ):
                continue  # "Islamic Resistance in Iraq" names an actor, not a place
            if (
                match.value.level == "country"
                and as_actor is not None
                and not _LOCATIVE_BEFORE.search(before)
            ):
                continue  # "Israel struck ...", "Israel's military": the actor, not the place
            kept_places.append(match)
        place_spans = [(p.start, p.end) for p in kept_places]
        for match in actors:
            after = clause[match.end :]
            before = clause[: match.start]
            if _QUALIFIER_AFTER.match(after) or before.lower().endswith("pro-"):
                continue
            if _SPEAKER.match(after):
                continue
            if (match.start, match.end) in place_spans:
                continue
            kept_actors.append(match)
        return kept_places, kept_actors

    def _roles(
        self, clause: str, actors: list[Match[Actor]], first_cue: int
    ) -> tuple[dict[str, int], dict[str, int]]:
        attackers: dict[str, int] = {}
        targets: dict[str, int] = {}
        for match in actors:
            actor = match.value
            before, after = clause[: match.start], clause[match.end :]
            attack, target = 0, 0
            if _CLAIM_AFTER.match(after):
                attack = 6
            elif match.start < first_cue and _ACTS_AFTER.match(after):
                attack = 5
            elif _ATTRIBUTION_BEFORE.search(before):
                attack = 4
            if _TARGET_AFTER.match(after) or _TARGET_BEFORE.search(before):
                target = 3
            if re.search(r"\bbetween\s+(?:the\s+)?(?:\w+\s+of\s+(?:the\s+)?)?$", before):
                attack = max(attack, 3)  # "clashes between X and Y": X is written first
            elif re.search(r"\bbetween\b[^,;]*\band\s+(?:the\s+)?$", before):
                target = max(target, 3)
            if _WEAPON_AFTER.match(after):
                attack = max(attack, 3)
            if actor.kind == "civilian":
                target, attack = max(target, 1), 0
            if not attack and not target:
                # The subject, before the event word, usually acts; a later name is hit.
                if match.start < first_cue:
                    attack = 2
                else:
                    target = 1
            if attack >= target:
                attackers[actor.name] = max(attackers.get(actor.name, 0), attack)
            else:
                targets[actor.name] = max(targets.get(actor.name, 0), target)
        return attackers, targets

    def _clause_places(self, clause: str, places: list[Match[Place]]) -> list[Place]:
        """The places where the clause's events happened, the most precise per area.

        Places of one admin1 area are one place (the site, else the smallest city); a country
        or admin1 named beside a precise place inside it adds nothing; a place the weapon came
        "from" is not where it struck when another place is named.
        """
        origins = [m for m in places if re.search(r"\bfrom\s+(?:the\s+)?$", clause[: m.start])]
        if len(origins) < len(places):
            places = [m for m in places if m not in origins]
        order = {"site": 0, "city": 1, "unknown": 1, "admin1": 2, "country": 3}
        ranked = sorted(
            (m.value for m in places), key=lambda p: (order[p.level], p.population or 0)
        )
        chosen: list[Place] = []
        for place in ranked:
            covered = any(
                c.country == place.country
                and (
                    place.level == "country"
                    or (place.admin1 and c.admin1 == place.admin1)
                    or (place.level == "admin1" and not c.admin1)
                )
                for c in chosen
            )
            if not covered:
                chosen.append(place)
        return chosen

    def _unknown_place(self, clause: str, country: str) -> Place | None:
        """A named place the gazetteer lacks ("the village of Kfar Kila"): no coordinates."""
        match = _UNKNOWN_PLACE.search(clause)
        if match is None or not country:
            return None
        name = match.group(1)
        if self.actors.actor(name) or self.gazetteer.lookup(name) or DATE_WORDS.match(name):
            return None
        return Place(name=name, level="unknown", country=country)

    # -- the report ---------------------------------------------------------------------------
    def extract(self, report: NewsReport, report_date: dt.date) -> Extraction:
        """The candidate incidents in ``report``, dated relative to ``report_date``."""
        drafts: list[_Draft] = []
        # An undated sentence happened when the paragraph's last date says; a new paragraph
        # goes back to the date of the lead (the report's first date), else the report's date.
        lead_date, lead_note = report_date, "no date in the text: the report's date"
        current_date, date_note = lead_date, lead_note
        last: _Draft | None = None
        last_sentence, last_paragraph = -10, -1
        title = report.title.strip()
        for position, (paragraph, sentence) in enumerate(split_sentences(report.text)):
            if position == 0 and title and sentence.strip() == title:
                continue  # the headline repeats the story told below
            if paragraph != last_paragraph:
                current_date, date_note, last_paragraph = lead_date, lead_note, paragraph
            sentence = DATELINE.sub("", sentence)
            sentence_dates = find_dates(sentence, report_date)
            explicit = [d for d in sentence_dates if d.date is not None]
            for clause in _CLAUSE_BREAK.split(sentence):
                if not clause.strip():
                    continue
                made = self._clause(
                    clause,
                    sentence,
                    explicit,
                    current_date,
                    date_note,
                    last,
                    position - last_sentence,
                )
                if made is None:
                    continue
                made_drafts, is_new = made
                if is_new:
                    drafts.extend(made_drafts)
                last, last_sentence = made_drafts[-1], position
            if explicit and explicit[0].date is not None:
                current_date = explicit[0].date
                date_note = f"dated by an earlier sentence ('{explicit[0].text}')"
                if lead_note.startswith("no date"):
                    lead_date = current_date
                    lead_note = f"dated by the report's first date ('{explicit[0].text}')"
        merged = _merge(drafts)
        candidates = [_candidate(d, report) for d in merged]
        return Extraction(report_date, title, report.origin, candidates)

    def _clause(
        self,
        clause: str,
        sentence: str,
        explicit: list[DateMention],
        current_date: dt.date,
        date_note: str,
        last: _Draft | None,
        distance: int,
    ) -> tuple[list[_Draft], bool] | None:
        scores, cue_words = _category_scores(clause)
        harm = bool(HARM_WORDS.search(clause))
        claim = bool(_CLAIM.search(clause))
        if not scores and not harm and not claim:
            return None
        words = tokens(clause)
        places, actors = self._mentions(clause, words)
        first_cue = min(
            [m.start() for p, _ in sum(CATEGORY_CUES.values(), []) for m in p.finditer(clause)]
            + [len(clause)]
        )
        attackers, targets = self._roles(clause, actors, first_cue)
        fatalities, none_killed = _fatalities(clause)
        if HYPOTHETICAL.search(clause):
            return None
        background = BACKGROUND.search(clause)
        if background and not explicit and fatalities is None:
            return None
        clause_places = self._clause_places(clause, places)
        near = _NAMED_NEAR.search(clause)
        if near and len(clause_places) == 1 and not self.gazetteer.lookup(near.group(1)):
            # "the village of Turmus Ayya near Ramallah": the event is in the village.
            known = clause_places[0]
            clause_places = [
                Place(
                    name=near.group(1), level="unknown", country=known.country, admin1=known.admin1
                )
            ]
        if not clause_places and last is not None and distance == 0:
            # "..., while artillery shelled Kfar Kila": a place of the same sentence's country.
            unknown = self._unknown_place(clause, last.place.country)
            if unknown is not None and (scores or fatalities is not None):
                clause_places = [unknown]
        if not clause_places:
            # Event words without a place tell more about the incident just before, unless
            # they bring other actors, another date, or say they are about something else.
            if last is None or distance > (2 if claim else 1) or _ANOTHER_STORY.match(clause):
                return None
            if explicit and explicit[0].date not in (None, last.date):
                return None
            named = {m.value.name for m in actors}
            if not claim and named - set(last.attackers) - set(last.targets):
                return None
            last.add_scores(scores, cue_words)
            last.add_roles(attackers, targets)
            last.harm = last.harm or harm
            if fatalities is not None and last.fatalities is None:
                last.fatalities = fatalities
            last.none_killed = last.none_killed or none_killed
            last.add_sentence(sentence.strip())
            return [last], False
        if not scores and not claim and fatalities is None and not harm:
            return None
        date: dt.date = current_date
        if explicit and explicit[0].date is not None:
            date = explicit[0].date
            note = f"dated by '{explicit[0].text}' against the report's date"
            if explicit[0].approximate:
                note += " (approximate)"
        else:
            note = date_note
        drafts = []
        for place in clause_places:
            draft = _Draft(place=place, date=date, date_note=note)
            draft.add_scores(scores, cue_words)
            draft.add_roles(attackers, targets)
            draft.harm = harm
            draft.fatalities = fatalities
            draft.none_killed = none_killed
            draft.add_sentence(sentence.strip())
            drafts.append(draft)
        if len(drafts) > 1:
            for draft in drafts:
                draft.notes.append(f"one of {len(drafts)} places named in the same sentence")
        return drafts, True


def _same_event(a: _Draft, b: _Draft) -> bool:
    if a.date != b.date or a.place.country != b.place.country:
        return False
    if a.place == b.place:
        return True
    # A country or admin1 named alone is the same event as a precise place inside it.
    coarse, fine = (a, b) if _rank(a.place) > _rank(b.place) else (b, a)
    if coarse.place.level == "country":
        return True
    if coarse.place.level == "admin1":
        return coarse.place.admin1 == fine.place.admin1
    # A city and a site in it on the same day (Sanaa and its airport) are told as one.
    return (
        {a.place.level, b.place.level} == {"site", "city"}
        and bool(a.place.admin1)
        and a.place.admin1 == b.place.admin1
    )


def _rank(place: Place) -> int:
    return {"site": 0, "city": 1, "unknown": 1, "admin1": 2, "country": 3}[place.level]


def _category(draft: _Draft) -> str:
    if not draft.scores:
        return "battle"
    return max(draft.scores.items(), key=lambda item: item[1])[0]


def _merge(drafts: list[_Draft]) -> list[_Draft]:
    merged: list[_Draft] = []
    for draft in drafts:
        into = next(
            (
                m
                for m in merged
                if _same_event(m, draft)
                and (
                    not m.scores
                    or not draft.scores
                    or _category(m) == _category(draft)
                    or min(max(m.scores.values()), max(draft.scores.values())) <= 2
                )
            ),
            None,
        )
        if into is None:
            merged.append(draft)
            continue
        if _rank(draft.place) < _rank(into.place):
            into.place = draft.place
        into.add_scores(draft.scores, draft.cue_words)
        into.add_roles(draft.attackers, draft.targets)
        into.harm = into.harm or draft.harm
        if draft.fatalities is not None:
            into.fatalities = max(into.fatalities or 0, draft.fatalities)
        into.none_killed = into.none_killed or draft.none_killed
        for sentence in draft.sentences:
            into.add_sentence(sentence)
        into.notes = unique([*into.notes, *draft.notes])
    return merged


def _pick(roles: dict[str, int]) -> str:
    """The name with the highest weight (the first mentioned on a tie)."""
    return max(roles, key=lambda n: roles[n]) if roles else ""


def _candidate(draft: _Draft, report: NewsReport) -> Candidate:
    place = draft.place
    reasons: list[str] = []
    confidence = 0.5
    category = _category(draft)
    strongest = max(draft.scores.values()) if draft.scores else 0
    if strongest >= 3:
        confidence += 0.1
        reasons.append(f"event words: {', '.join(draft.cue_words[:5])} -> {category}")
    elif draft.scores:
        reasons.append(f"weak event words only ({', '.join(draft.cue_words[:5])}) -> {category}")
    else:
        confidence -= 0.15
        reasons.append("no event word, only harm words: category 'battle' is a guess")
    if place.level in ("site", "city"):
        confidence += 0.15
        reasons.append(f"place found in the gazetteer ({place.level}): {place.name}")
    elif place.level == "unknown":
        confidence -= 0.1
        reasons.append(
            f"'{place.name}' is not in the gazetteer: coordinates left empty; country "
            f"{'and admin1 ' if place.admin1 else ''}taken from the place named with it "
            f"({place.admin1 or place.country})"
        )
    elif place.level == "admin1":
        reasons.append(f"only the province is named ({place.name}): no coordinates")
    else:
        confidence -= 0.15
        reasons.append(f"only the country is named ({place.name}): no location or coordinates")
    if place.level in ("site", "city") and not place.admin1:
        reasons.append("admin1 not known for this place")
    if draft.date_note.startswith("dated by '"):
        confidence += 0.05
    else:
        confidence -= 0.05
    reasons.append(draft.date_note)
    actor1 = _pick(draft.attackers)
    # The other side: whoever was hit, or a second actor that did more than be mentioned.
    sides = {n: w for n, w in draft.attackers.items() if n != actor1}
    for name, weight in draft.targets.items():
        if name != actor1 and weight >= sides.get(name, 0):
            sides[name] = weight + 0.5  # ties go to the target
    actor2 = max(sides, key=lambda n: sides[n]) if sides else ""
    if actor1 and actor2:
        confidence += 0.1
        reasons.append("both sides named")
    elif actor1 or actor2:
        confidence += 0.05
        reasons.append("one side named")
    else:
        reasons.append("no actor named")
    if draft.fatalities is not None:
        reasons.append(f"fatalities stated: {draft.fatalities}")
    elif draft.none_killed:
        reasons.append("the report says no one was killed")
    else:
        reasons.append("no death toll given")
    if len(draft.sentences) > 1:
        confidence += 0.05
        reasons.append(f"told in {len(draft.sentences)} sentences")
    reasons.extend(draft.notes)
    what = ", ".join(draft.cue_words[:3]) or "violence"
    where = place.name
    parties = " vs ".join(a for a in (actor1, actor2) if a)
    note = f"{what} in {where}" + (f" ({parties})" if parties else "")
    note += f". From the news report: {report.title or report.origin}"
    return Candidate(
        date=draft.date,
        country=place.country,
        admin1=place.admin1,
        location="" if place.level == "country" else place.name,
        latitude=place.latitude,
        longitude=place.longitude,
        category=category,
        actor1=actor1,
        actor2=actor2,
        fatalities=draft.fatalities,
        notes=note[:500],
        source_text=" ".join(draft.sentences)[:2000],
        confidence=round(max(0.05, min(0.95, confidence)), 2),
        reasons=reasons,
    )


def extract_incidents(
    report: NewsReport, report_date: dt.date, extractor: Extractor | None = None
) -> Extraction:
    """The candidate incidents of ``report`` (the shipped gazetteer and actor groups)."""
    return (extractor or Extractor()).extract(report, report_date)


def native_rows(candidates: list[Candidate]) -> list[dict[str, object]]:
    """The candidates as rows of the native format's columns (what the review table edits)."""
    return [
        {
            "date": c.date,
            "country": c.country,
            "admin1": c.admin1,
            "location": c.location,
            "latitude": c.latitude,
            "longitude": c.longitude,
            "event_type": c.category,
            "actor1": c.actor1,
            "actor2": c.actor2,
            "fatalities": c.fatalities,
            "notes": c.notes,
            "source": c.source_text,
        }
        for c in candidates
    ]


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):  # None or NaN
        return ""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()[:10]
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def native_csv(rows: list[dict[str, object]]) -> bytes:
    """Rows with the native columns as a CSV (UTF-8) for :func:`risk.store.ingest.ingest_file`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(NATIVE_COLUMNS)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in NATIVE_COLUMNS])
    return buffer.getvalue().encode("utf-8")
