"""Packaging for the ``atila-stack`` distribution (import names ``skitai``, ``atila``,
``django_bridge``).

The names ``skitai`` and ``atila`` alone are taken on the package index, so the
distribution is called ``atila-stack``.  Tool settings (ruff, pytest) live in
``pyproject.toml``.
"""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).resolve().parent

#: ``was.render``: Jinja2, Chameleon (.pt/.ptal) and the MINIFY_HTML='minify' minifier.
TEMPLATE_REQUIRES = [
    "jinja2>=3.1",
    "chameleon>=4.5",
    "minify-html>=0.15",
]

#: atila.openapi's interactive page: Swagger UI and ReDoc served offline from the package
#: (it ships the assets only; it depends on Django, the stack's companion anyway).
OPENAPI_REQUIRES = ["drf-spectacular-sidecar"]

#: the user guide (mkdocs.yml): ``mkdocs build --strict`` / ``mkdocs serve``.
DOCS_REQUIRES = [
    "mkdocs>=1.6",
    "mkdocs-material>=9.5",
    "mkdocstrings[python]>=0.26",
    "pymdown-extensions>=10",
]

TEST_REQUIRES = [
    "pytest",
    "pytest-timeout",
    "pytest-django",
    "django>=5.2,<5.3",
    "psycopg2-binary",
    "gunicorn",
    "websockets>=13",  # a real WebSocket client for the tests
    "httpx[http2]",  # a real HTTP/2 client (tests/skitai/test_http2.py)
    "starlette",  # ASGI apps mounted beside WSGI ones (tests/skitai/test_asgi_live.py)
    "fastapi",
    "redis>=5",  # the hub tests run two engines over a Redis of their own
    *TEMPLATE_REQUIRES,
    *OPENAPI_REQUIRES,
    "openapi-spec-validator",  # the OpenAPI documents validate (tests/atila/test_openapi_live.py)
    "schemathesis>=4",  # fuzzes them against a live server
    "ruff",
    # the demo's browser test drives Debian's chromium (apt-get install chromium)
    "playwright",
    # tests/test_docs_site.py builds the user guide in strict mode
    *DOCS_REQUIRES,
]

setup(
    name="atila-stack",
    version="0.1.0",
    description=(
        "Skitai app engine (asyncio HTTP/1.1, HTTPS, WebSocket, WSGI), the Atila framework "
        "and a Django bridge: one server, one process model, one database."
    ),
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.11",
    packages=find_packages(
        include=["skitai", "skitai.*", "atila", "atila.*", "django_bridge", "django_bridge.*"],
        exclude=[
            "tests",
            "tests.*",
            "benchmarks",
            "benchmarks.*",
            "demo_project",
            "demo_project.*",
        ],
    ),
    include_package_data=True,
    install_requires=[
        "httptools",
        "h11",
        "wsproto>=1.2",
        "h2>=4.1",  # HTTP/2 (skitai/server/http2.py)
        "requests",
        "PyJWT>=2.8",
        "python-multipart>=0.0.18",
        "watchfiles>=0.21",
        "sqlphile>=0.9.7",
        "psycopg2-binary>=2.9",
    ],
    extras_require={
        "uvloop": ["uvloop; sys_platform != 'win32'"],
        "templates": TEMPLATE_REQUIRES,
        # django_bridge: the supported Django (5.2 LTS)
        "django": ["django>=5.2,<5.3"],
        # the message hub across hosts (--broker redis://...); one host needs nothing
        "redis": ["redis>=5"],
        "openapi": OPENAPI_REQUIRES,
        "docs": DOCS_REQUIRES,
        "dev": TEST_REQUIRES,
        "test": TEST_REQUIRES,
        "bench": [
            "gunicorn", "granian", "fastapi", "uvicorn[standard]", "uvloop", "httptools", "flask",
            "blacksheep", "falcon", "sanic",  # benchmarks/bench_frameworks.py
            "asyncpg", "channels>=4", "channels-redis>=4", "redis>=5",
            "hypercorn",  # benchmarks/bench_h2.py
        ],
    },
    entry_points={
        "console_scripts": [
            "skitai = skitai.cli:console_main",
        ],
        "pytest11": [
            "django_bridge = django_bridge.pytest_plugin",
        ],
        # the engine's registries, filled by the layers above it (skitai/registries.py)
        "skitai.alias_kinds": [
            "django = django_bridge.aliases:alias_kind",
        ],
        "skitai.statement_adapters": [
            "django = django_bridge.queryset:queryset_adapter",
            "django_bridge = django_bridge.queryset:queryset_adapter",
            "sqlphile = atila.corequests:sqlphile_statement",
        ],
        "skitai.mount_targets": [
            "django = django_bridge.mount:mounted_project",
        ],
    },
    classifiers=[
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3 :: Only",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
        "Programming Language :: Python :: 3.13",
        "Framework :: Django",
        "Topic :: Internet :: WWW/HTTP :: WSGI :: Server",
    ],
)
