"""Templates: :class:`string.Template` text, subject and HTML (no template engine in the core).

Rendering fails loudly: a variable that no plan, flow or personalization plugin supplied is a
:class:`~o2o_sdk.followups.PermanentDeliveryError` naming it (the follow-up goes dead with
that sentence) rather than a message with a literal ``$name`` in it.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from string import Template

from ..models import FollowUpTemplate
from ._channels import PermanentDeliveryError

__all__ = ["RenderedParts", "render"]

RenderedParts = tuple[str, str, str | None]


def _fill(name: str, part: str, text: str, variables: Mapping[str, str]) -> str:
    try:
        return Template(text).substitute(variables)
    except KeyError as exc:
        raise PermanentDeliveryError(
            f"Template {name!r} uses ${exc.args[0]} in its {part}, which nothing supplied.", code="template_variable_missing"
        ) from None
    except ValueError as exc:
        raise PermanentDeliveryError(f"Template {name!r} has a malformed {part}: {exc}.", code="template_invalid") from None


def render(template: FollowUpTemplate, variables: Mapping[str, str]) -> RenderedParts:
    """``(subject, text, html)`` with ``variables`` filled in; HTML values are escaped except ``*_html``."""
    subject = _fill(template.name, "subject", template.subject, variables)
    text = _fill(template.name, "text", template.text, variables)
    body_html = None
    if template.html is not None:
        escaped = {k: (v if k.endswith("_html") else html.escape(v)) for k, v in variables.items()}
        body_html = _fill(template.name, "html", template.html, escaped)
    return subject, text, body_html
