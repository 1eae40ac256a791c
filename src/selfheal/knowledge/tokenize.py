"""Identifier-aware tokenisation for the lexical index.

Runbooks and alerts are full of identifiers (`KubeAPIDown`, `order_created`, `POST /webhooks/order-created`,
`HTTP 403`). Each identifier is kept whole *and* split into its parts, so a query that says "API down" finds a
section titled `KubeAPIDown`, and a query that names `signing_secret` finds "signing secret". Words are
lower-cased and stemmed with the English Snowball stemmer so "restarted"/"restarts"/"restart" meet.
"""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer  # type: ignore[import-not-found]

_TOKEN = re.compile(r"[A-Za-z0-9]+(?:[_.'-][A-Za-z0-9]+)*")
_CAMEL_PARTS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_SEPARATORS = re.compile(r"[_.'-]+")
MAX_COMPOUND_PARTS = 6

STOPWORDS: frozenset[str] = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "being",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "me",
        "my",
        "no",
        "nor",
        "not",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "also",
        "may",
        "might",
        "must",
        "shall",
        "s",
        "t",
        "just",
        "more",
        "most",
        "than",
        "any",
        "all",
        "each",
        "few",
        "both",
        "here",
    ]
)


_SNOWBALL = Stemmer.Stemmer("english")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """The English Snowball (Porter 2) stem of a word (PyStemmer): `declined`, `declines` and `decline` all
    give `declin`, `charged` and `charge` give `charg`. Short words and tokens with digits are kept whole
    (`k8s`, `v2`, `403` are names, not words)."""
    if len(word) <= 3 or not word.isalpha():
        return word
    return str(_SNOWBALL.stemWord(word))


@lru_cache(maxsize=200_000)
def _expand(raw: str) -> tuple[str, ...]:
    """The terms one raw token contributes: the whole identifier plus its parts."""
    whole = raw.lower()
    pieces: list[str] = []
    for segment in _SEPARATORS.split(raw):
        pieces.extend(p.lower() for p in _CAMEL_PARTS.findall(segment))
    terms: list[str] = []
    if len(pieces) > 1:
        joined = _SEPARATORS.sub("", whole)
        if joined not in STOPWORDS:
            terms.append(joined)
        # Contiguous sub-compounds (`KubeAPIDown` -> kubeapi, apidown) so a query naming part of an
        # identifier ("KubeAPI") meets the whole one.
        if len(pieces) <= MAX_COMPOUND_PARTS:
            for size in range(2, len(pieces)):
                for i in range(len(pieces) - size + 1):
                    terms.append("".join(pieces[i : i + size]))
    for piece in pieces or [whole]:
        if piece not in STOPWORDS and (len(piece) > 1 or piece.isdigit()):
            terms.append(stem(piece))
    return tuple(terms)


def tokenize(text: str) -> list[str]:
    """Lower-cased, stemmed terms of `text` with identifiers split (`KubeAPIDown` -> kubeapidown,
    kube, api, down)."""
    out: list[str] = []
    for match in _TOKEN.finditer(text):
        out.extend(_expand(match.group()))
    return out
