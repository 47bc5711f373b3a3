"""OpenAPI 3.1: the document of an app's API and its interactive page (``docs/openapi.md``).

Turn it on per app::

    app.config.OPENAPI = True      # <mount point>/openapi.json and <mount point>/docs

:func:`build_document` makes the document (see :mod:`atila.openapi.document`);
:func:`operation` adds to or overrides what a handler's operation says, and
``operation(hidden=True)`` leaves the handler out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from atila.openapi.document import ERROR_SCHEMA, OPERATION_ATTRIBUTE, build_document
from atila.openapi.serving import assets_directory, openapi_table

__all__ = [
    "ERROR_SCHEMA",
    "assets_directory",
    "build_document",
    "openapi_table",
    "operation",
]

F = TypeVar("F", bound=Callable[..., Any])


def operation(hidden: bool = False, **fields: Any) -> Callable[[F], F]:
    """Add OpenAPI operation ``fields`` to the decorated handler's operations.

    ``responses`` (and any other dict) is merged into what the document
    derives; other fields replace it::

        @app.route("/photos", methods=["POST"])
        @atila.openapi.operation(responses={"201": {"description": "Created"}})
        def add(was, title: str): ...

    Fields under a method's name apply to that method only
    (``operation(post={"responses": {"201": {"description": "Created"}}})``).
    ``hidden=True`` leaves the handler out of the document.
    """

    def decorator(func: F) -> F:
        setattr(func, OPERATION_ATTRIBUTE, False if hidden else fields)
        return func

    return decorator
