"""Publishing through the HTTP API from tests, as the npm CLI would."""

import json

from tests.packages import publish_body


def publish(client, token: str, name: str, version: str = "1.0.0", **kwargs):
    body = publish_body(name, version, **kwargs)
    return client.put(
        f"/{name}",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def write(client, method: str, path: str, token: str, body=None):
    return getattr(client, method)(
        path,
        data=json.dumps(body) if body is not None else "",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
