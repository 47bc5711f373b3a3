"""Glue between Django and the Skitai engine / Atila framework (under construction)."""
