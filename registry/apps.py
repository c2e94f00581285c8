from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "registry"

    def ready(self):
        from registry.read_passes import read_passes_connect

        read_passes_connect()
