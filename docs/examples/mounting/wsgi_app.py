"""Any WSGI callable can be mounted: this one knows nothing of Atila."""


def application(environ, start_response):
    """Say where it was mounted and what path it got."""
    body = f"mounted at {environ['SCRIPT_NAME']!r}, path {environ['PATH_INFO']!r}\n"
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
    return [body.encode("utf-8")]
