"""Ticket connectors: helpdesk exports (Zendesk, Freshdesk, Jira) to the signal contract's tickets."""

from selfheal.connect.tickets.formats import (
    DEFAULT_MERCHANT_FIELD,
    ExportFormat,
    ImportedTickets,
    ImportOptions,
    load_merchant_map,
    map_from_labels,
    parse_export,
)
from selfheal.connect.tickets.html import html_to_text

__all__ = [
    "DEFAULT_MERCHANT_FIELD",
    "ExportFormat",
    "ImportOptions",
    "ImportedTickets",
    "html_to_text",
    "load_merchant_map",
    "map_from_labels",
    "parse_export",
]
