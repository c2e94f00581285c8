"""Build npm packages in memory: tarballs laid out as `npm pack` does, and publish bodies
shaped as the npm CLI sends them (see npm-protocol §5)."""

import base64
import hashlib
import io
import json
import tarfile


def npm_tarball(files: dict[str, bytes | str], *, root: str = "package") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(f"{root}/{path}")
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def integrity_of(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def publish_body(
    name: str,
    version: str = "1.0.0",
    *,
    package_json: dict | None = None,
    extra_files: dict[str, bytes | str] | None = None,
    manifest: dict | None = None,
    tag: str = "latest",
    access: str | None = None,
    tarball: bytes | None = None,
) -> dict:
    """A publish body; `manifest` overrides what the client claims, to simulate tampering."""
    package_json = {"name": name, "version": version, **(package_json or {})}
    if tarball is None:
        files = {"package.json": json.dumps(package_json), "index.js": "module.exports = 1\n"}
        files.update(extra_files or {})
        tarball = npm_tarball(files)
    claimed = {
        **package_json,
        "_id": f"{name}@{version}",
        "readme": "ERROR: No README data found!",
        "_nodeVersion": "20.20.2",
        "_npmVersion": "11.19.1",
        "dist": {
            "integrity": integrity_of(tarball),
            "shasum": hashlib.sha1(tarball).hexdigest(),  # noqa: S324 - npm's shasum is sha1
            "tarball": f"http://127.0.0.1/{name}/-/{name}-{version}.tgz",
        },
        **(manifest or {}),
    }
    return {
        "_id": name,
        "name": name,
        "description": package_json.get("description", ""),
        "dist-tags": {tag: version},
        "versions": {version: claimed},
        "access": access,
        "_attachments": {
            f"{name}-{version}.tgz": {
                "content_type": "application/octet-stream",
                "data": base64.b64encode(tarball).decode(),
                "length": len(tarball),
            }
        },
    }
