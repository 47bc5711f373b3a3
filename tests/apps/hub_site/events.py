"""Where the broadcast listeners of the hub tests note what they got: one line each."""

import os


def note(*words: object) -> None:
    """Append ``pid word...`` to the file named by ``$HUB_EVENTS`` (one write: atomic)."""
    line = " ".join(str(word) for word in (os.getpid(), *words)) + "\n"
    fd = os.open(os.environ["HUB_EVENTS"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)
