"""Serve ``fastapi_api.py``'s FastAPI app on skitai (the ASGI container), for
``benchmarks/bench_asgi.py``; uvicorn and granian import the same
``benchmarks.apps.fastapi_api:app``::

    python benchmarks/apps/fastapi_skitai.py --port 5000 --workers 2 --silent
"""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":
    # run as a script: make ``benchmarks.apps`` importable from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

    import skitai
    from benchmarks.apps.fastapi_api import app

    skitai.mount("/", app)
    skitai.run(ip="127.0.0.1", port=5000, workers=2)
