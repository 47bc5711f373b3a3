"""Atila: the web framework built on the Skitai app engine (under construction)."""
