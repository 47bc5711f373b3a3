"""``manage.py ensure_demo_user``: create the demo superuser if it is missing."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

DEMO_USERNAME = "admin"
DEMO_PASSWORD = "atila-demo"


class Command(BaseCommand):
    """Create the demo superuser ``admin`` / ``atila-demo`` (README states them)."""

    help = "Create the demo superuser (admin / atila-demo) if it does not exist."

    def handle(self, *args: object, **options: object) -> None:
        users = get_user_model()
        if users.objects.filter(username=DEMO_USERNAME).exists():
            self.stdout.write(f"demo user {DEMO_USERNAME!r} exists")
            return
        users.objects.create_superuser(DEMO_USERNAME, "admin@example.com", DEMO_PASSWORD)
        self.stdout.write(f"created demo superuser {DEMO_USERNAME!r} / {DEMO_PASSWORD!r}")
