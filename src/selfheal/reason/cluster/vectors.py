"""Text vectors for clustering: the lexical fallback (TF-IDF + LSA) and the text a ticket is embedded from.

The dense model lives in `selfheal.embedding` and is called at the edge; this module stays pure (no I/O).
The lexical vectors are fit on the batch being clustered, so they are cheap to recompute and never stored.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from selfheal.reason.cluster.algorithms import FloatArray, normalise_rows
from selfheal.signals import Ticket

LEXICAL_MODEL = "tfidf-lsa"
LSA_DIMENSIONS = 128


def ticket_text(ticket: Ticket) -> str:
    """What a ticket is embedded and named from: its subject and body."""
    subject = ticket.subject.strip()
    body = ticket.body.strip()
    if subject and body and not body.startswith(subject):
        return f"{subject}. {body}"
    return body or subject


def lexical_vectors(texts: Sequence[str], dimensions: int = LSA_DIMENSIONS) -> FloatArray:
    """TF-IDF (words and word pairs, sublinear tf) reduced by LSA to at most `dimensions`, unit rows."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    if not texts:
        return np.zeros((0, 1), dtype=np.float32)
    min_df = 2 if len(texts) >= 50 else 1
    vectorizer = TfidfVectorizer(
        sublinear_tf=True, ngram_range=(1, 2), min_df=min_df, stop_words="english", strip_accents="unicode"
    )
    try:
        tfidf = vectorizer.fit_transform(list(texts))
    except ValueError:  # every text is empty or a stop word
        return np.zeros((len(texts), 1), dtype=np.float32)
    n_components = min(dimensions, tfidf.shape[0] - 1, tfidf.shape[1] - 1)
    if n_components < 2:
        return normalise_rows(tfidf.toarray())
    reduced = TruncatedSVD(n_components=n_components, random_state=0).fit_transform(tfidf)
    return normalise_rows(reduced)
