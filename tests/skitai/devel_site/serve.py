"""A site for test_devel.py and test_console.py: a plain WSGI module and an Atila app.

Tests copy this directory and run the copy (``--devel`` or not), then edit the
copy's ``greeting.py`` to see the server pick the change up.
"""

import atila_app
import greeting

import skitai

if __name__ == "__main__":
    skitai.mount("/api", atila_app.app)
    skitai.mount("/", greeting.app)
    skitai.run()
