"""The ``was`` side of HTTP corequests: ``was.get/post/...``, ``was.stub``, ``was.rpc``
and ``was.ProxyPass``.

Spec: "Proxypass Response", "Using Skitai Async Requests Services Working With
Jinja2 Template", "Generator Based Coroutine" (``was.stub``) and the
``@app.mounted`` examples (``was.get("@myapi/...", callback=...)``).  URLs are
absolute or start with an HTTP alias (``"@myapi/v1/states"``).  Requests run
on the worker's event loop (:mod:`skitai.corequests.http`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from atila import responses
from atila.corequests import hub_of
from atila.errors import NotAllowed
from skitai.corequests import Pending, Task

if TYPE_CHECKING:
    from atila.was import Was

__all__ = ["ProxyPass", "RPCProxy", "Stub", "WasUpstreams"]

#: Request headers never forwarded by ``ProxyPass`` (hop-by-hop and framing).
_NOT_FORWARDED = frozenset({
    "host", "connection", "keep-alive", "proxy-authorization", "te", "trailer",
    "transfer-encoding", "upgrade", "content-length", "expect",
})  # fmt: skip
#: Response headers never passed back (the engine frames the response itself).
_NOT_RETURNED = frozenset({
    "connection", "keep-alive", "transfer-encoding", "content-length", "date", "server",
    "proxy-authenticate", "trailer", "upgrade",
})  # fmt: skip


def _request(was: Was, method: str, url: str, **options: Any) -> Task:
    return hub_of(was).http.request(method, url, **options)


class Stub:
    """``was.stub(base)``: requests relative to ``base`` (a URL or ``"@alias"``)."""

    def __init__(self, was: Was, base: str, headers: dict[str, str] | None = None) -> None:
        self._was = was
        self.base = base.rstrip("/")
        self.headers = dict(headers or {})

    def __enter__(self) -> Stub:
        return self

    def __exit__(self, *exc: object) -> None:
        """Nothing to release (connections are pooled by the engine)."""

    def request(self, method: str, path: str = "/", **options: Any) -> Task:
        """``method`` ``base + path``; ``options`` as for ``was.get``."""
        headers = {**self.headers, **dict(options.pop("headers", None) or {})}
        url = self.base + "/" + path.lstrip("/")
        return _request(self._was, method, url, headers=headers, **options)

    def get(self, path: str = "/", **options: Any) -> Task:
        """``GET base + path``."""
        return self.request("GET", path, **options)

    def post(self, path: str = "/", data: Any = None, **options: Any) -> Task:
        """``POST base + path``."""
        return self.request("POST", path, data=data, **options)

    def put(self, path: str = "/", data: Any = None, **options: Any) -> Task:
        """``PUT base + path``."""
        return self.request("PUT", path, data=data, **options)

    def patch(self, path: str = "/", data: Any = None, **options: Any) -> Task:
        """``PATCH base + path``."""
        return self.request("PATCH", path, data=data, **options)

    def delete(self, path: str = "/", **options: Any) -> Task:
        """``DELETE base + path``."""
        return self.request("DELETE", path, **options)


class RPCProxy:
    """``was.rpc(url)``: ``was.rpc("@myrpc/rpc2").math.add(1, 2)`` is an XML-RPC
    corequest (a :class:`~skitai.corequests.Task`; ``fetch()`` gives the result)."""

    def __init__(self, was: Was, url: str, options: dict[str, Any], name: str = "") -> None:
        self._was = was
        self._url = url
        self._options = options
        self._name = name

    def __getattr__(self, name: str) -> RPCProxy:
        if name.startswith("__"):
            raise AttributeError(name)
        method = f"{self._name}.{name}" if self._name else name
        return RPCProxy(self._was, self._url, self._options, method)

    def __call__(self, *params: Any) -> Task:
        if not self._name:
            raise TypeError("call a method of the proxy: was.rpc(url).method(...)")
        return hub_of(self._was).http.rpc_call(self._url, self._name, params, **self._options)


class ProxyPass(Pending):
    """``was.ProxyPass("@upstream", path)``: answer with the upstream's response to
    ``GET <upstream>/<path>?<this request's query>`` (status, headers and body as is)."""

    def __init__(self, was: Was, alias: str, path: str | None = None, timeout: float = 3) -> None:
        request = was.request
        if request.method not in ("GET", "HEAD"):
            raise NotAllowed(["GET", "HEAD"])
        url = alias.rstrip("/") + "/" + (path or "").lstrip("/")
        if request.query_string:
            url += "?" + request.query_string
        headers = [
            (name, value) for name, value in request.get_headers()
            if name.lower() not in _NOT_FORWARDED
        ]  # fmt: skip
        self.task = _request(was, request.method, url, headers=headers, timeout=timeout)

    def on_ready(self, fn: Callable[[], None]) -> None:
        self.task.on_ready(fn)

    def resolve(self, *leading: Any) -> Any:
        upstream = self.task.raw()
        response = responses.Response()
        response.set_status(f"{upstream.status_code} {upstream.reason or 'Unknown'}")
        response.headers = [
            (name, value) for name, value in upstream.headers
            if name.lower() not in _NOT_RETURNED
        ]  # fmt: skip
        response.body = upstream.content
        return response


class WasUpstreams:
    """The HTTP corequest attributes of ``was`` (mixed into :class:`atila.was.Was`)."""

    __slots__ = ()

    def get(self, url: str, **options: Any) -> Task:
        """``was.get(url, params=None, headers=None, timeout=None, meta=None, filter=None,
        callback=None)``: a GET corequest."""
        return _request(self, "GET", url, **options)  # type: ignore[arg-type]

    def post(self, url: str, data: Any = None, **options: Any) -> Task:
        """``was.post(url, data=None, json=None, ...)``: form dict, str/bytes or JSON."""
        return _request(self, "POST", url, data=data, **options)  # type: ignore[arg-type]

    def put(self, url: str, data: Any = None, **options: Any) -> Task:
        """``was.put(url, data=None, json=None, ...)``."""
        return _request(self, "PUT", url, data=data, **options)  # type: ignore[arg-type]

    def patch(self, url: str, data: Any = None, **options: Any) -> Task:
        """``was.patch(url, data=None, json=None, ...)``."""
        return _request(self, "PATCH", url, data=data, **options)  # type: ignore[arg-type]

    def delete(self, url: str, **options: Any) -> Task:
        """``was.delete(url, ...)``."""
        return _request(self, "DELETE", url, **options)  # type: ignore[arg-type]

    def stub(self, base: str, headers: dict[str, str] | None = None) -> Stub:
        """``with was.stub("http://example.com") as stub: stub.get("/")``."""
        return Stub(self, base, headers)  # type: ignore[arg-type]

    def rpc(self, url: str, **options: Any) -> RPCProxy:
        """``was.rpc("@myrpc/rpc2", callback=None).method(*params)``: XML-RPC."""
        return RPCProxy(self, url, options)  # type: ignore[arg-type]

    def ProxyPass(self, alias: str, path: str | None = None, timeout: float = 3) -> ProxyPass:  # noqa: N802
        """``was.ProxyPass("@upstream", path, timeout=3)``: relay a GET upstream."""
        return ProxyPass(self, alias, path, timeout)  # type: ignore[arg-type]
