"""``python -m skitai``: the ``skitai`` command (see :mod:`skitai.console`)."""

import sys

from skitai.console import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
