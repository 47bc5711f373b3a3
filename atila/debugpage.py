"""The debug error page: an exception with its frames, source lines and locals.

Spec "Debugging and Reloading App": with ``app.debug = True`` (which a server
in development mode, Skitai's ``--devel``, turns on) errors are shown in the
browser.  :func:`debug_html` renders that page for an HTML client when
an exception caused the error; the dispatcher only calls it in debug mode (or
when a handler passed ``exc_info`` to ``was.response`` explicitly), so a
production response never carries source code or local variables.

The page is plain HTML built here with every value escaped; it needs no
template engine, so it works even when the failure is in a template.
"""

from __future__ import annotations

import html
import linecache
import reprlib
import traceback
from types import TracebackType
from typing import Any

__all__ = ["CONTEXT_LINES", "debug_html", "exception_of"]

#: Source lines shown above and below the failing line of each frame.
CONTEXT_LINES = 5

_repr = reprlib.Repr()
_repr.maxstring = 200
_repr.maxother = 200
_repr.maxlevel = 3

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#222}
header{background:#b03030;color:#fff;padding:16px 24px}
header h1{margin:0;font-size:20px}header p{margin:6px 0 0;font-family:monospace}
main{padding:8px 24px}.frame{border:1px solid #ddd;margin:12px 0;border-radius:4px}
.frame h3{margin:0;padding:6px 10px;background:#f4f4f4;font:13px monospace}
.frame pre{margin:0;padding:6px 0;overflow-x:auto;font-size:13px}
.line{display:block;padding:0 10px}.current{background:#fde8e8;font-weight:bold}
details{padding:4px 10px}table{border-collapse:collapse;font:12px monospace}
td{padding:2px 8px;border-top:1px solid #eee;vertical-align:top}
"""


def exception_of(exc_info: Any) -> BaseException | None:
    """The exception in ``exc_info`` (an ``exc_info`` tuple or an exception), else None."""
    if isinstance(exc_info, BaseException):
        return exc_info
    if isinstance(exc_info, tuple) and len(exc_info) == 3 and isinstance(exc_info[1], Exception):
        return exc_info[1]
    return None


def _source(filename: str, lineno: int) -> str:
    first = max(1, lineno - CONTEXT_LINES)
    lines = []
    for number in range(first, lineno + CONTEXT_LINES + 1):
        text = linecache.getline(filename, number)
        if not text and number > lineno:
            break
        css = "line current" if number == lineno else "line"
        lines.append(f'<span class="{css}">{number:>5}  {html.escape(text.rstrip())}</span>')
    return "<pre>" + "".join(lines) + "</pre>" if lines else ""


def _locals(frame_locals: dict[str, Any]) -> str:
    if not frame_locals:
        return ""
    rows = []
    for name, value in sorted(frame_locals.items()):
        try:
            shown = _repr.repr(value)
        except Exception as exc:  # noqa: BLE001 - a broken __repr__ must not break the page
            shown = f"<repr failed: {type(exc).__name__}>"
        rows.append(f"<tr><td>{html.escape(name)}</td><td>{html.escape(shown)}</td></tr>")
    return f"<details><summary>locals</summary><table>{''.join(rows)}</table></details>"


def _frames(tb: TracebackType | None) -> list[str]:
    parts = []
    for frame, lineno in traceback.walk_tb(tb):
        code = frame.f_code
        parts.append(
            '<div class="frame"><h3>'
            f"{html.escape(code.co_filename)}, line {lineno}, in {html.escape(code.co_name)}"
            f"</h3>{_source(code.co_filename, lineno)}{_locals(frame.f_locals)}</div>"
        )
    return parts


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from or during, oldest first."""
    chain: list[BaseException] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    return list(reversed(chain))


def debug_html(info: dict[str, Any], exc: BaseException, method: str = "") -> str:
    """The debug page for the error dict ``info`` caused by ``exc``."""
    title = html.escape(str(info.get("status") or info.get("code")))
    sections = []
    for number, each in enumerate(_chain(exc)):
        if number:
            sections.append("<p><em>During handling of the above, another exception:</em></p>")
        message = html.escape(f"{type(each).__qualname__}: {each}")
        sections.append(f"<h2>{message}</h2>")
        sections.extend(_frames(each.__traceback__))
    request = html.escape(f"{method} {info.get('url', '')}".strip())
    detail = f"<p>{html.escape(str(info['detail']))}</p>" if info.get("detail") else ""
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{title}</title><style>{_STYLE}</style></head><body>"
        f"<header><h1>{title}</h1><p>{request}</p></header><main>{detail}"
        f"{''.join(sections)}"
        f"<p><small>{html.escape(str(info.get('time', '')))} &middot; "
        f"{html.escape(str(info.get('software', '')))}</small></p>"
        "</main></body></html>\n"
    )
