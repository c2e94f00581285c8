"""Every periodic job runs, from the command the embedded mode uses in place of beat."""

from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from accounts.models import WebLogin


@pytest.mark.django_db
def test_periodic_tasks_command_runs_every_scheduled_job():
    WebLogin.objects.create(done_hash="x" * 64, expires_at=timezone.now() - timedelta(minutes=1))
    out = StringIO()

    call_command("periodic_tasks", stdout=out)

    for name in settings.CELERY_BEAT_SCHEDULE:
        assert f"{name}:" in out.getvalue()
    assert not WebLogin.objects.exists()
