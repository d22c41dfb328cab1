"""Documents port (STAND-IN): template rendering with an allow-list of fields, redaction of personal data for
public versions, HTML to PDF. The real module is built by the ``notify`` helper and replaces this file at
merge; this stand-in has the same public names. ``html_to_pdf`` is not available here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from jinja2 import TemplateSyntaxError, meta
from jinja2.sandbox import SandboxedEnvironment

from jingwu.platform.errors import InvalidInput

_ENV = SandboxedEnvironment(autoescape=True)

ID_NUMBER = re.compile(r"(?<![0-9])[1-9][0-9]{16}[0-9Xx](?![0-9])")
PHONE = re.compile(r"(?<![0-9])(?:\+?86[- ]?)?1[3-9][0-9](?:[- ]?[0-9]{4}){2}(?![0-9])"
                   r"|(?<![0-9])0[0-9]{2,3}-?[0-9]{7,8}(?![0-9])")


def render(template: str, fields: Mapping[str, Any], *, allowed: Iterable[str]) -> str:
    """Render a Jinja2 template (HTML, autoescaped, sandboxed). A field the template names that is not in
    ``allowed`` is refused with ``unknown_template_field``."""
    ok = set(allowed)
    try:
        used = meta.find_undeclared_variables(_ENV.parse(template))
    except TemplateSyntaxError as e:
        raise InvalidInput(f"template syntax error: {e.message} (line {e.lineno})", code="template_syntax") from e
    unknown = sorted(used - ok)
    if unknown:
        raise InvalidInput(f"the template names fields that are not allowed: {', '.join(unknown)}; "
                           f"allowed: {', '.join(sorted(ok))}", code="unknown_template_field")
    return _ENV.from_string(template).render({k: v for k, v in fields.items() if k in ok})


def redact(text: str, *, names: Iterable[str] = (), addresses: Iterable[str] = ()) -> str:
    """Mask 18-digit ID numbers, phone numbers, and the given names and addresses."""
    out = text
    for s in sorted({x.strip() for x in (*names, *addresses) if x and x.strip()}, key=len, reverse=True):
        out = out.replace(s, "＊" * min(len(s), 3))
    out = ID_NUMBER.sub("*" * 18, out)
    return PHONE.sub(lambda m: "*" * len(m.group(0)), out)


def html_to_pdf(html: str, *, title: str) -> bytes:
    raise NotImplementedError("PDF rendering comes with the documents port (notify helper)")
