from django.utils.cache import patch_cache_control
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import request_actor
from registry.authz import Action
from registry.services.common import package_for
from registry.services.dist_tags import dist_tag_remove, dist_tag_set


class DistTags(APIView):
    def get(self, request, name: str):
        package = package_for(request_actor(request), name, Action.READ)
        tags = dict(package.dist_tags.order_by("tag").values_list("tag", "version__version"))
        response = Response(tags)
        patch_cache_control(response, no_cache=True)
        return response


class DistTag(APIView):
    def put(self, request, name: str, tag: str):
        dist_tag_set(actor=request_actor(request), name=name, tag=tag, version=request.data)
        return Response({"ok": True})

    post = put

    def delete(self, request, name: str, tag: str):
        dist_tag_remove(actor=request_actor(request), name=name, tag=tag)
        return Response({"ok": True})
