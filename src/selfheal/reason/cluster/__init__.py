"""Ticket themes: cluster tickets into readable, stable themes (pure; vectors come in from the edge)."""

from __future__ import annotations

from selfheal.reason.cluster.algorithms import (
    METHODS,
    UNASSIGNED,
    Clustering,
    ClusterParams,
    FloatArray,
    cluster_vectors,
    normalise_rows,
)
from selfheal.reason.cluster.identity import KnownTheme
from selfheal.reason.cluster.naming import class_tfidf_terms, label_from_terms
from selfheal.reason.cluster.texts import TextClustering, TextTheme, cluster_texts
from selfheal.reason.cluster.themes import ThemeInput, ThemeReport, find_themes, lexical_theme_input
from selfheal.reason.cluster.vectors import LEXICAL_MODEL, lexical_vectors, ticket_text

__all__ = [
    "LEXICAL_MODEL",
    "METHODS",
    "UNASSIGNED",
    "ClusterParams",
    "Clustering",
    "FloatArray",
    "KnownTheme",
    "TextClustering",
    "TextTheme",
    "ThemeInput",
    "ThemeReport",
    "class_tfidf_terms",
    "cluster_texts",
    "cluster_vectors",
    "find_themes",
    "label_from_terms",
    "lexical_theme_input",
    "lexical_vectors",
    "normalise_rows",
    "ticket_text",
]
