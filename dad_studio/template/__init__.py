"""The DAD template language: ``$var{}``, ``$expr{}``, ``$expr{py: ...}`` and ``$hier{}``.

Follows /work/shared/design/TEMPLATES.md. Every failure is a :class:`TemplateError` with the
template and a 0-based position; nothing is ever turned into text that flows on into a prompt.
"""

from __future__ import annotations

from .api import References, evaluate, references, render
from .errors import TemplateError
from .hier import NOT_RUN, DictLookup, HierLookup, hier_element
from .parser import has_template, parse
from .sandbox_data import Limits

__all__ = [
    "NOT_RUN",
    "DictLookup",
    "HierLookup",
    "Limits",
    "References",
    "TemplateError",
    "evaluate",
    "has_template",
    "hier_element",
    "parse",
    "references",
    "render",
]
