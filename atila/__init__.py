"""Atila: the web framework built on the Skitai app engine.

    import atila

    app = atila.Atila(__name__)

    @app.route("/")
    def index(was):
        return "Hello, World"

Public names: :class:`Atila`, :data:`was` (the current request's ``was``),
:func:`current_was`, the exceptions of :mod:`atila.errors` and
:class:`BuildError` (``was.urlfor`` cannot build a URL), :class:`DuplicateNameError`
(two handlers claim one name when services are mounted).  Importing ``atila``
has no side effects.
"""

from atila.app import DEFAULT_CONFIG, Atila
from atila.errors import HTTPError, NotAllowed, ParameterError
from atila.routing import BuildError
from atila.services import DuplicateNameError
from atila.storage import OutsideRequestError
from atila.was import Was, current_was, was

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_CONFIG",
    "Atila",
    "BuildError",
    "DuplicateNameError",
    "HTTPError",
    "NotAllowed",
    "OutsideRequestError",
    "ParameterError",
    "Was",
    "current_was",
    "was",
]
