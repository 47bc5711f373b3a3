"""The sample API at /api (OpenAPI on) and a second Atila app at /other (its own document)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from other import app as other  # noqa: E402
from sample import app  # noqa: E402

import skitai  # noqa: E402

skitai.mount("/api", app)
skitai.mount("/other", other)
skitai.run()
