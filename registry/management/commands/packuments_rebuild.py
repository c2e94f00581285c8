from django.core.management.base import BaseCommand
from django.db import transaction

from registry.models import Package
from registry.packuments import packument_touch
from registry.services.common import package_lock


class Command(BaseCommand):
    help = (
        "Rebuild every stored packument (and its mirror). Run after changing GATEHOUSE_URL, "
        "since tarball URLs inside packuments are built from it."
    )

    def handle(self, *args, **options):
        count = 0
        for package_id in Package.objects.values_list("pk", flat=True).iterator():
            with transaction.atomic():
                packument_touch(package_lock(Package.objects.get(pk=package_id)))
            count += 1
        self.stdout.write(f"Rebuilt {count} packuments.")
