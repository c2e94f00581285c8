from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "registry"

    def ready(self):
        # Imported here, not at the top: they import models, which exist only once every
        # app is loaded (Django's AppConfig.ready pattern).
        from registry.orgs.account_checks import account_checks_register
        from registry.read_passes import read_passes_connect

        account_checks_register()
        read_passes_connect()
