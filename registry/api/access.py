"""`npm access get/set status` and `npm access set mfa=…` for one package."""

from django.utils.cache import patch_cache_control
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import request_actor
from registry.authz import Action
from registry.exceptions import InvalidPayload
from registry.services.common import package_for
from registry.services.package_settings import package_settings_update

# npm's body keys → Gatehouse's package settings.
NPM_KEYS = {
    "access": "access",
    "publish_requires_tfa": "publish_requires_tfa",
    "automation_token_overrides_tfa": "automation_token_overrides_tfa",
}


class Visibility(APIView):
    def get(self, request, name: str):
        package = package_for(request_actor(request), name, Action.READ)
        response = Response({"public": not package.is_restricted})
        patch_cache_control(response, no_cache=True, private=True)
        return response


class Access(APIView):
    def post(self, request, name: str):
        actor = request_actor(request)
        body = request.data if isinstance(request.data, dict) else None
        if not body or set(body) - set(NPM_KEYS):
            raise InvalidPayload(
                "Send access, publish_requires_tfa or automation_token_overrides_tfa."
            )
        package = package_settings_update(
            actor=actor, name=name, changes={NPM_KEYS[k]: v for k, v in body.items()}
        )
        return Response({"ok": True, "public": not package.is_restricted})
