"""Runbook knowledge base: loaders (Markdown, text, PDF, HTML), structure-aware chunking, and a hybrid
BM25F + dense index persisted in the database. It implements the reason stage's `RunbookRetriever` protocol
(`selfheal.reason.runbooks`); reason never imports knowledge.
"""
