"""`npm search`, answered by the database: exact names first, then prefixes, then the rest."""

import json

from django.db.models import Case, IntegerField, Q, Value, When

from accounts.actors import Actor
from registry.authz import packages_visible_to
from registry.models import Package

MAX_RESULTS = 250


def _has_keyword(keyword: str) -> Q:
    """A whole keyword in any case: its quoted form inside the stored JSON list. SQLite
    stores JSON ASCII-escaped and PostgreSQL does not, hence both spellings."""
    return Q(keywords__icontains=json.dumps(keyword)) | Q(
        keywords__icontains=json.dumps(keyword, ensure_ascii=False)
    )


def packages_search(
    *, actor: Actor, text: str, size: int, offset: int
) -> tuple[list[Package], int]:
    terms = [term for term in text.lower().split() if term][:10]
    packages = packages_visible_to(actor.user).filter(unpublished_at__isnull=True)
    score = Value(0, output_field=IntegerField())
    for term in terms:
        field, _, value = term.partition(":")
        if value and field in ("keywords", "keyword"):
            packages = packages.filter(_has_keyword(value))
            continue
        if value and field in ("maintainer", "author"):
            packages = packages.filter(maintainers__user__username=value)
            continue
        packages = packages.filter(
            Q(name__icontains=term) | Q(description__icontains=term) | Q(keywords__icontains=term)
        )
        score = score + Case(
            When(name=term, then=Value(1000)),
            When(name__endswith="/" + term, then=Value(800)),
            When(name__startswith=term, then=Value(500)),
            When(name__icontains=term, then=Value(200)),
            When(keywords__icontains=term, then=Value(100)),
            default=Value(10),
            output_field=IntegerField(),
        )
    packages = packages.annotate(score=score).distinct()
    total = packages.count()
    page = list(
        packages.order_by("-score", "name").prefetch_related("maintainers__user")[
            offset : offset + min(size, MAX_RESULTS)
        ]
    )
    return page, total
