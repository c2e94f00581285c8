"""Run every periodic job once, in this process.

Production runs them through `celery beat`; the embedded mode (`make run`) has no beat,
so it calls this every few minutes instead.
"""

from django.conf import settings
from django.core.management.base import BaseCommand

from portal.celery import app


class Command(BaseCommand):
    help = "Run each job of CELERY_BEAT_SCHEDULE once, here and now."

    def handle(self, *args, **options):
        app.loader.import_default_modules()  # registers the apps' tasks, as a worker would
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
            result = app.tasks[entry["task"]].apply().get()
            self.stdout.write(f"{name}: {result}")
