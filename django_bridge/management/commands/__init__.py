"""``manage.py runskitai``."""
