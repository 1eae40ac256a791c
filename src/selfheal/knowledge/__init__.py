"""Runbook knowledge base: loaders (Markdown, text, PDF, HTML), structure-aware chunking, a hybrid
BM25F + dense index persisted in the database, and per-incident retrieval.

Import the parts you need: `selfheal.knowledge.base` (storage-backed service) pulls in the store, while
`selfheal.knowledge.incident` is pure and safe for the reason stage.
"""
