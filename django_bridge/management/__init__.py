"""Management commands of django_bridge."""
