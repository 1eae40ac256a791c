"""Ticket themes: cluster tickets into readable, stable themes (pure; vectors come in from the edge)."""

from __future__ import annotations

from selfheal.reason.cluster.algorithms import (
    METHODS,
    UNASSIGNED,
    ClusterParams,
    Clustering,
    cluster_vectors,
)
from selfheal.reason.cluster.vectors import LEXICAL_MODEL, lexical_vectors, ticket_text

__all__ = [
    "LEXICAL_MODEL",
    "METHODS",
    "UNASSIGNED",
    "ClusterParams",
    "Clustering",
    "cluster_vectors",
    "lexical_vectors",
    "ticket_text",
]
