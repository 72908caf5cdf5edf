"""Maps and briefings. Importing this package is light; pyvis, jinja2 and
matplotlib are imported by the functions that render."""

from __future__ import annotations

from .briefing import briefing_html, save_briefing
from .html import MapHTML, save_html, show_map, to_html

__all__ = ["to_html", "save_html", "show_map", "MapHTML", "briefing_html", "save_briefing"]
