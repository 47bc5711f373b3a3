"""Templates: ``was.render`` over Jinja2 and Chameleon, and ``was.render_or_API``.

Spec sections "Working With Jinja2 Template Engine", "Registering Global
Template Function", "Registering Jinja2 Filter", "Custom Error Template",
"Working With Chameleon Template Engine", "Selective Media Response By Accept
Header", "Selective Media Response By Accept Header With Map Respinse".

Each app has one :class:`TemplateEngine` (``app.templates``).  It looks
templates up, in order, in the ``templates`` directories of the packages that
override the app (``pref.overrides``), the app's own ``templates`` directory
(beside the module named by ``Atila(__name__)``), then those of the packages
the app extends (``pref.extends``) and of :meth:`TemplateEngine.add_directory`.

* ``*.pt`` / ``*.ptal`` templates are rendered by Chameleon, everything else by
  Jinja2.  Both see ``was``, ``app``, ``request``, ``response``, ``context``
  (the given arguments as an attribute dict), the given arguments themselves
  and the ``@app.template_global`` functions.
* The Jinja2 environment is built once, on first use, with the extensions
  ``jinja2.ext.do`` and ``jinja2.ext.loopcontrols`` and autoescaping for
  ``.html``, ``.htm`` and ``.xml`` templates.  Compiled templates are kept;
  template files are checked for changes only when ``app.use_reloader`` is on.
* ``app.config.MINIFY_HTML`` (see :mod:`atila.minify`) applies to the output of
  ``.html``, ``.htm``, ``.pt`` and ``.ptal`` templates.

``jinja2`` and ``chameleon`` are imported only when first needed
(``pip install atila-stack[templates]``).
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from atila.minify import minifier_for
from atila.responses import API
from atila.storage import AttrDict
from atila.was import current_was
from skitai.corequests import Pending

if TYPE_CHECKING:
    import jinja2

    from atila.app import Atila
    from atila.was import Was

__all__ = [
    "AUTOESCAPE_EXTENSIONS",
    "CHAMELEON_SUFFIXES",
    "DEFAULT_JINJA_EXTENSIONS",
    "RESERVED_NAMES",
    "RenderedMap",
    "TemplateEngine",
    "TemplateNotFound",
    "template_dir_of",
    "wants_html",
]

#: Names every template sees; they cannot be used as render arguments.
RESERVED_NAMES = frozenset({"was", "app", "request", "response", "context"})
#: Jinja2 autoescapes templates with these extensions.
AUTOESCAPE_EXTENSIONS = ("html", "htm", "xml")
#: Extensions of every new Jinja2 environment (``jinja_overlay(extensions=[])`` removes them).
DEFAULT_JINJA_EXTENSIONS = ("jinja2.ext.do", "jinja2.ext.loopcontrols")
#: Templates with these suffixes are rendered by Chameleon.
CHAMELEON_SUFFIXES = (".pt", ".ptal")
#: ``MINIFY_HTML`` applies to templates with these suffixes.
MINIFIED_SUFFIXES = (".html", ".htm", ".pt", ".ptal")
#: The directory, beside an app's module or a package, holding its templates.
TEMPLATE_DIR = "templates"


class TemplateNotFound(LookupError):
    """No directory of the template search path has the template."""

    def __init__(self, name: str, search_path: Iterable[str]) -> None:
        self.name = name
        self.search_path = list(search_path)
        super().__init__(f"template {name!r} not found in {self.search_path}")


def template_dir_of(target: Any) -> str | None:
    """The ``templates`` directory of a package, module or app object, or a path itself.

    ``target`` may be a directory path, an object with ``__file__`` (a
    module), or an :class:`~atila.Atila` (its module's directory).  None when
    it names no file.
    """
    if isinstance(target, str | os.PathLike):
        return os.fspath(target)
    filename = getattr(target, "__file__", None)
    if filename is None:
        module = sys.modules.get(getattr(target, "import_name", "") or "")
        filename = getattr(module, "__file__", None)
    if not filename:
        return None
    return os.path.join(os.path.dirname(os.path.abspath(filename)), TEMPLATE_DIR)


def wants_html(was: Was) -> bool:
    """Whether the request's ``Accept`` header names ``text/html`` (with q > 0)."""
    accept = was.request.env.get("HTTP_ACCEPT", "")
    if "text/html" not in accept.lower():
        return False
    params = was.request.acceptables.get("text/html", {})
    return params.get("q") not in ("0", "0.0", "0.00", "0.000")


def _render_args(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The render arguments: one dict or keyword arguments (spec: never both)."""
    if args:
        if len(args) > 1 or kwargs:
            raise TypeError("render() takes a dict or keyword arguments, not both")
        if args[0] is None:
            data: dict[str, Any] = {}
        elif isinstance(args[0], Mapping):
            data = dict(args[0])
        else:
            raise TypeError(f"render() takes a dict of arguments, not {type(args[0]).__name__}")
    else:
        data = kwargs
    clash = RESERVED_NAMES.intersection(data)
    if clash:
        raise ValueError(f"render() arguments cannot be named {', '.join(sorted(clash))}")
    return data


def _takes_was(func: Callable[..., Any]) -> bool:
    """True unless ``func`` accepts no positional argument at all.

    The spec gives ``was`` to every template global, but its own example
    (``@app.template_global('form_token') def generate_form_token(): ...``, "the
    same as" ``app.jinja_env.globals['form_token'] = generate_form_token``)
    takes none: such a function is called as it is.
    """
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature
        return True
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                  inspect.Parameter.VAR_POSITIONAL)  # fmt: skip
    return any(p.kind in positional for p in params)


def _bind_was(func: Callable[..., Any]) -> Callable[..., Any]:
    """``func(was, *args)`` called from a template as ``func(*args)``."""
    if not _takes_was(func):
        return func

    @functools.wraps(func)
    def call(*args: Any, **kwargs: Any) -> Any:
        return func(current_was(), *args, **kwargs)

    return call


def _vary_accept(was: Was) -> None:
    vary = was.response.get_header("Vary")
    if vary is None:
        was.response.set_header("Vary", "Accept")
    elif "accept" not in {part.strip().lower() for part in vary.split(",")}:
        was.response.set_header("Vary", f"{vary}, Accept")


@functools.cache
def _environment_class() -> type[jinja2.Environment]:
    """``jinja2.Environment`` with a faster ``{{ row.name }}`` for plain dicts.

    Jinja2 tries ``getattr(row, "name")`` first and only then ``row["name"]``,
    so every field of a dict row costs a raised ``AttributeError``.  For an
    exact ``dict`` and a name that is not a ``dict`` attribute (``items``,
    ``get`` ...) that ``getattr`` always fails, so looking the key up first
    gives the same result, sooner (about 20% off rendering a table of dicts).
    """
    import jinja2

    class Environment(jinja2.Environment):
        def getattr(self, obj: Any, attribute: str) -> Any:
            if type(obj) is dict and not hasattr(dict, attribute):
                try:
                    return obj[attribute]
                except KeyError:
                    return self.undefined(obj=obj, name=attribute)
            return super().getattr(obj, attribute)

    return Environment


class TemplateEngine:
    """The template environments of one app (``app.templates``).

    Build it with the app; the environments themselves are created on first
    use.  Registration methods are meant for setup time (the app refuses
    them once it serves requests).
    """

    def __init__(self, app: Atila) -> None:
        self.app = app
        self._first: list[str] = []
        self._last: list[str] = []
        self._own: str | None = None
        self._jinja_options: dict[str, Any] = {"extensions": list(DEFAULT_JINJA_EXTENSIONS)}
        self._jinja: jinja2.Environment | None = None
        self._jinja_cache: dict[str, jinja2.Template] = {}
        self._chameleon_cache: dict[str, Any] = {}
        #: ``@app.template_global`` functions, bound to ``was`` (for Chameleon too).
        self.globals: dict[str, Callable[..., Any]] = {}
        self._lock = threading.Lock()

    # -- search path -----------------------------------------------------------

    @property
    def search_path(self) -> list[str]:
        """Directories searched for templates, in order."""
        if self._own is None:
            self._own = template_dir_of(self.app) or os.path.join(os.getcwd(), TEMPLATE_DIR)
        return [*self._first, self._own, *self._last]

    def add_directory(self, path: str | os.PathLike[str], first: bool = False) -> None:
        """Search ``path`` too: before the app's own templates with ``first`` (overriding
        them), else after them."""
        path = os.path.abspath(os.fspath(path))
        target = self._first if first else self._last
        if path not in target:
            target.append(path)
        self._search_path_changed()

    def use_packages(self, extended: Iterable[Any] = (), overridden: Iterable[Any] = ()) -> None:
        """Add the ``templates`` directories of ``pref.extends``/``pref.overrides`` packages.

        A package that overrides the app is searched before the app (the last
        one given first); an extended package after it, in the order given.
        """
        for package in reversed(list(overridden)):
            directory = template_dir_of(package)
            if directory is not None:
                self.add_directory(directory, first=True)
        for package in extended:
            directory = template_dir_of(package)
            if directory is not None:
                self.add_directory(directory)

    def _search_path_changed(self) -> None:
        with self._lock:
            if self._jinja is not None:
                self._jinja.loader = self._jinja_loader()
            self._jinja_cache.clear()
            self._chameleon_cache.clear()

    # -- Jinja2 ----------------------------------------------------------------

    @property
    def jinja_env(self) -> jinja2.Environment:
        """The Jinja2 environment (``app.jinja_env``), built on first use."""
        env = self._jinja
        if env is None:
            with self._lock:
                env = self._jinja
                if env is None:
                    env = self._jinja = self._build_jinja(self._jinja_options)
        return env

    def _jinja_loader(self) -> jinja2.BaseLoader:
        import jinja2

        return jinja2.FileSystemLoader(self.search_path)

    def _build_jinja(self, options: dict[str, Any]) -> jinja2.Environment:
        try:
            import jinja2
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise RuntimeError(
                "was.render needs Jinja2: pip install atila-stack[templates]"
            ) from exc
        settings = {
            "autoescape": jinja2.select_autoescape(AUTOESCAPE_EXTENSIONS, default_for_string=False),
            **options,
            "loader": self._jinja_loader(),
            "auto_reload": bool(self.app.use_reloader),
        }
        return _environment_class()(**settings)

    def overlay(self, **options: Any) -> None:
        """``app.jinja_overlay(...)``: rebuild the environment with ``options`` changed.

        Globals, filters and tests already registered are kept.  ``extensions``
        replaces the extension list (``[]`` removes the default ones).
        """
        with self._lock:
            merged = {**self._jinja_options, **options}
            env = self._build_jinja(merged)
            old = self._jinja
            if old is not None:
                for name in ("globals", "filters", "tests"):
                    mine, theirs = getattr(env, name), getattr(old, name)
                    mine.update({k: v for k, v in theirs.items() if k not in mine})
            self._jinja_options, self._jinja = merged, env
            self._jinja_cache.clear()

    def add_extension(self, extension: str | type) -> None:
        """``app.add_jinja_ext(ext)``: add a Jinja2 extension (dotted name or class)."""
        env = self.jinja_env
        env.add_extension(extension)
        self._jinja_options["extensions"] = [*self._jinja_options["extensions"], extension]
        self._jinja_cache.clear()

    def add_global(self, name: str, func: Callable[..., Any]) -> None:
        """Make ``func(was, ...)`` callable in templates as ``name(...)``."""
        bound = _bind_was(func)
        self.globals[name] = bound
        self.jinja_env.globals[name] = bound

    def add_filter(self, name: str, func: Callable[..., Any]) -> None:
        """Make ``func`` a Jinja2 filter named ``name``."""
        self.jinja_env.filters[name] = func

    def _jinja_template(self, name: str) -> jinja2.Template:
        env = self.jinja_env
        reload = bool(self.app.use_reloader)
        if not reload:
            template = self._jinja_cache.get(name)
            if template is not None:
                return template
        env.auto_reload = reload
        import jinja2

        try:
            template = env.get_template(name)
        except jinja2.TemplateNotFound as exc:
            if exc.name != name:  # a template it extends or includes is missing
                raise
            raise TemplateNotFound(name, self.search_path) from None
        if not reload:
            self._jinja_cache[name] = template
        return template

    # -- Chameleon ---------------------------------------------------------------

    def _chameleon_template(self, name: str) -> Any:
        reload = bool(self.app.use_reloader)
        template = self._chameleon_cache.get(name)
        if template is not None and template.auto_reload == reload:
            return template
        try:
            from chameleon import PageTemplateFile
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise RuntimeError(
                "Chameleon templates (.pt, .ptal) need chameleon: "
                "pip install atila-stack[templates]"
            ) from exc
        search_path = self.search_path
        parts = name.replace("\\", "/").split("/")
        if name.startswith("/") or ".." in parts:
            raise TemplateNotFound(name, search_path)
        for directory in search_path:
            filename = os.path.join(directory, *parts)
            if os.path.isfile(filename):
                template = PageTemplateFile(
                    filename, search_path=search_path, auto_reload=reload, encoding="utf-8"
                )
                self._chameleon_cache[name] = template
                return template
        raise TemplateNotFound(name, search_path)

    # -- rendering ----------------------------------------------------------------

    def render(self, was: Was, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        """``was.render(name, dict_or_kwargs)``: the rendered text (see the module doc)."""
        data = _render_args(args, kwargs)
        variables = {
            **data,
            "was": was,
            "app": was.app,
            "request": was.request,
            "response": was.response,
            "context": AttrDict(data),
        }
        if name.endswith(CHAMELEON_SUFFIXES):
            text: str = self._chameleon_template(name)(**{**self.globals, **variables})
        else:
            text = self._jinja_template(name).render(variables)
        if name.endswith(MINIFIED_SUFFIXES):
            minify = minifier_for(was.app.config.get("MINIFY_HTML"))
            if minify is not None and not text.startswith("<?xml"):
                text = minify(text)
        return text

    def render_or_api(
        self, was: Was, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> str | API:
        """``was.render_or_API``: the rendered template for clients accepting
        ``text/html``, else ``was.API`` of the same arguments (``Vary: Accept`` set)."""
        _vary_accept(was)
        if wants_html(was):
            return self.render(was, name, args, kwargs)
        return API(_render_args(args, kwargs))

    def render_or_map(self, was: Was, name: str, mapped: Pending) -> Pending:
        """``was.render_or_Map``/``render_or_Mapped``: ``mapped`` (a ``was.Map``) as is
        for API clients; for HTML clients, the template rendered with the mapped
        values once they are ready (the handler thread is not held meanwhile)."""
        _vary_accept(was)
        if wants_html(was):
            return RenderedMap(self, name, mapped)
        return mapped


class RenderedMap(Pending):
    """A ``was.Map`` whose resolved values are rendered into a template.

    Returned by ``was.render_or_Map`` to HTML clients: the response waits for
    the corequests like the Map itself, then renders ``name`` with the mapped
    names as arguments (a Map status such as ``"210 Something"`` is kept).
    """

    def __init__(self, engine: TemplateEngine, name: str, mapped: Pending) -> None:
        self.engine = engine
        self.name = name
        self.mapped = mapped

    def on_ready(self, fn: Callable[[], None]) -> None:
        """Call ``fn()`` when the Map's corequests are done."""
        self.mapped.on_ready(fn)

    def resolve(self, *leading: Any) -> str:
        """The rendered page (``leading[0]`` is the request's ``was``)."""
        was = leading[0] if leading else current_was()
        payload = self.mapped.resolve(was)
        status = getattr(payload, "status", None)
        if status:
            was.response.set_status(status)
        return self.engine.render(was, self.name, (dict(payload),), {})
