"""Phrase matching that forgives transliteration: "Ain al-Asad", "Ayn al-Asad", "Al-Asad".

Text is cut into word tokens (keeping their character spans); each token is reduced to a
*skeleton* that spelling variants of Arabic and Persian names share, and phrases are looked up
as tuples of skeletons, longest first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from unidecode import unidecode

T = TypeVar("T")

_WORD = re.compile(r"\w+(?:['’ʼʿ`]\w+)*")
_APOSTROPHES = re.compile(r"['’ʼʿ`]")
# Arabic articles written before a hyphen ("al-", "ash-") carry no meaning for matching; "al"
# and "el" are dropped even without a hyphen, the others only with one ("as", "at" and "an"
# are English words too).
_ALWAYS_ARTICLES = frozenset({"al", "el"})
_HYPHEN_ARTICLES = frozenset({"as", "ash", "ad", "ar", "at", "az", "an", "ath", "adh", "ed", "es"})
# Vowel and ending variants of one name: Deir/Dayr, Zeinab/Zaynab, Houthi/Huthi, Raqqa/Raqqah.
_VARIANTS = (("ou", "u"), ("oo", "u"), ("ee", "i"), ("y", "i"), ("e", "a"))
_DOUBLE = re.compile(r"(.)\1+")


def skeleton(word: str) -> str:
    """The spelling-insensitive form of one word."""
    text = _APOSTROPHES.sub("", unidecode(word).lower())
    text = re.sub(r"(ah|eh)$", "a", text)
    for old, new in _VARIANTS:
        text = text.replace(old, new)
    return _DOUBLE.sub(r"\1", text)


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    end: int
    key: str


def tokens(text: str) -> list[Token]:
    """The words of ``text`` with their spans and skeletons, articles left out."""
    found: list[Token] = []
    matches = list(_WORD.finditer(text))
    for number, match in enumerate(matches):
        word, end = match.group(), match.end()
        if len(word) > 3 and word[-2:].lower() in ("'s", "’s"):
            word, end = word[:-2], end - 2  # "Iraq's air base": the name is "Iraq"
        lowered = word.lower()
        follows_hyphen = text[match.end() : match.end() + 1] in ("-", "‐", "–")
        following = matches[number + 1].group() if number + 1 < len(matches) else ""
        # "ash Shughur", "ar Raqqah": the article takes the next name's first consonant.
        assimilated = (
            lowered in _HYPHEN_ARTICLES
            and following[:1].isupper()
            and following.lower().startswith(lowered[1:])
        )
        if (
            lowered in _ALWAYS_ARTICLES
            or (lowered in _HYPHEN_ARTICLES and follows_hyphen)
            or assimilated
        ):
            continue
        found.append(Token(word, match.start(), end, skeleton(word)))
    return found


def phrase_key(phrase: str) -> tuple[str, ...]:
    return tuple(t.key for t in tokens(phrase))


@dataclass(frozen=True)
class Match(Generic[T]):
    value: T
    start: int  # character span in the text
    end: int
    first_token: int  # token span
    last_token: int
    text: str
    alternatives: tuple[T, ...] = ()


class PhraseIndex(Generic[T]):
    """Phrases (as skeleton tuples) to values; finds the longest non-overlapping matches.

    A phrase may mean several values (two towns of one name): the first added is the
    default, the others are kept as the match's alternatives for the caller to choose from.
    """

    def __init__(self) -> None:
        self._phrases: dict[tuple[str, ...], list[T]] = {}
        self._longest = 1

    def add(self, phrase: str, value: T) -> None:
        key = phrase_key(phrase)
        if not key:
            return
        values = self._phrases.setdefault(key, [])
        if value not in values:
            values.append(value)
        self._longest = max(self._longest, len(key))

    def get(self, phrase: str) -> T | None:
        values = self._phrases.get(phrase_key(phrase))
        return values[0] if values else None

    def find(self, text: str, words: list[Token] | None = None) -> Iterator[Match[T]]:
        words = tokens(text) if words is None else words
        index = 0
        while index < len(words):
            for size in range(min(self._longest, len(words) - index), 0, -1):
                key = tuple(w.key for w in words[index : index + size])
                values = self._phrases.get(key)
                if values:
                    last = index + size - 1
                    start, end = words[index].start, words[last].end
                    yield Match(
                        values[0], start, end, index, last, text[start:end], tuple(values[1:])
                    )
                    index += size
                    break
            else:
                index += 1

    def __len__(self) -> int:
        return len(self._phrases)


def unique(values: Iterable[T]) -> list[T]:
    """Values in first-seen order, without repeats."""
    seen: list[T] = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen
