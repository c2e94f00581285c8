"""Small registry endpoints: ping, search, stars, audit."""

from django.utils import timezone
from django.utils.cache import patch_cache_control
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import request_actor
from registry.exceptions import InvalidPayload
from registry.search import packages_search
from registry.services.metadata import starred_by


class Ping(APIView):
    def get(self, request):
        response = Response({})
        patch_cache_control(response, no_store=True)
        return response


def _int_param(request, name: str, default: int, maximum: int) -> int:
    raw = request.query_params.get(name, default)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise InvalidPayload(f'"{name}" must be a number.') from None
    return max(0, min(value, maximum))


class Search(APIView):
    def get(self, request):
        size = _int_param(request, "size", 20, 250)
        offset = _int_param(request, "from", 0, 10_000)
        text = request.query_params.get("text", "")
        packages, total = packages_search(
            actor=request_actor(request), text=text, size=size, offset=offset
        )
        return Response(
            {
                "objects": [_search_object(p) for p in packages],
                "total": total,
                "time": timezone.now().isoformat(),
            }
        )


def _search_object(package) -> dict:
    maintainers = [
        {"username": m.user.username, "email": m.user.email} for m in package.maintainers.all()
    ]
    return {
        "package": {
            "name": package.name,
            "scope": package.scope or "unscoped",
            "version": package.latest_version,
            "description": package.description,
            "keywords": package.keywords,
            "date": package.modified_at.isoformat(),
            "publisher": maintainers[0] if maintainers else None,
            "maintainers": maintainers,
            "links": {},
        },
        "score": {
            "final": package.score,
            "detail": {"quality": 0, "popularity": 0, "maintenance": 0},
        },
        "searchScore": package.score,
    }


class StarredByUser(APIView):
    def get(self, request):
        key = request.query_params.get("key", "").strip('"')
        return Response({"rows": [{"value": name} for name in starred_by(key)]})


class AuditBulk(APIView):
    """No advisories yet: answering `{}` lets `npm audit` report zero vulnerabilities."""

    parser_classes = []

    def post(self, request):
        return Response({})
