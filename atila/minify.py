"""``app.config.MINIFY_HTML``: shrinking the HTML that templates render.

Spec "Default App Configuration": ``MINIFY_HTML = None | 'strip' | 'minify'``.

* ``None`` (or ``False``) — the rendered text is sent as is.
* ``'strip'`` — pure Python, no dependency: every line loses its leading and
  trailing whitespace and blank lines are dropped, except inside ``<pre>``,
  ``<textarea>``, ``<script>`` and ``<style>`` elements, which are kept
  verbatim.  Line breaks are kept, so inline text never runs together.
* ``'minify'`` — the ``minify-html`` package (a maintained Rust minifier; the
  spec's ``css_html_js_minify`` is abandoned): collapses whitespace, drops
  comments, minifies inline CSS and JavaScript; closing tags and the
  ``<html>``/``<head>`` tags are kept so the result stays easy to read and
  to test.  Install it with ``pip install atila-stack[templates]``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

__all__ = ["MINIFY_MODES", "minifier_for", "minify_html", "strip_html"]

#: The accepted values of ``app.config.MINIFY_HTML``.
MINIFY_MODES = (None, False, "strip", "minify")

#: Elements whose content 'strip' never touches.
_VERBATIM = re.compile(r"(<(pre|textarea|script|style)\b.*?</\2\s*>)", re.IGNORECASE | re.DOTALL)
_BLANK_LINES = re.compile(r"[ \t\r\f\v]*\n\s*")


def _strip_text(text: str) -> str:
    return _BLANK_LINES.sub("\n", text)


def strip_html(html: str) -> str:
    """``MINIFY_HTML = 'strip'``: trim every line, drop blank lines (see the module doc)."""
    parts = _VERBATIM.split(html)
    # split() with two groups yields: text, whole element, tag name, text, ...
    out = []
    for index in range(0, len(parts), 3):
        out.append(_strip_text(parts[index]))
        if index + 1 < len(parts):
            out.append(parts[index + 1])
    return "".join(out).strip()


def minify_html(html: str) -> str:
    """``MINIFY_HTML = 'minify'``: minify with ``minify-html`` (see the module doc)."""
    try:
        import minify_html as _minify_html
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise RuntimeError(
            "MINIFY_HTML = 'minify' needs the minify-html package: "
            "pip install atila-stack[templates]"
        ) from exc
    result: str = _minify_html.minify(
        html,
        minify_css=True,
        minify_js=True,
        keep_closing_tags=True,
        keep_html_and_head_opening_tags=True,
    )
    return result


def minifier_for(mode: Any) -> Callable[[str], str] | None:
    """The function applying ``MINIFY_HTML = mode``, or None when it is off.

    Raises ``ValueError`` for a value that is not one of :data:`MINIFY_MODES`.
    """
    if mode is None or mode is False:
        return None
    if mode == "strip":
        return strip_html
    if mode == "minify":
        return minify_html
    raise ValueError(f"app.config.MINIFY_HTML must be None, 'strip' or 'minify', not {mode!r}")
