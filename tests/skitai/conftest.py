"""Engine tests use the suite-wide fixtures of ``tests/conftest.py`` (``serve``, ``free_port``)."""
