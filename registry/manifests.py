"""The version manifest, built from the tarball's own package.json.

The npm client sends a manifest next to the tarball; a registry that trusted it would let
a publisher show installers one set of dependencies and scripts while shipping another
(manifest confusion). Gatehouse builds the manifest from the tarball and refuses a publish
whose request disagrees with it on anything that changes what an install does.
"""

import posixpath
import re

from registry.bundled import INSTALL_SCRIPTS, bundled_run_scripts
from registry.exceptions import ManifestMismatch
from registry.semver import is_valid_version
from registry.tarballs import TarballInfo

DEPENDENCY_FIELDS = ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies")
# Fields the client adds at publish time that are not in package.json and are harmless to keep.
CLIENT_FIELDS = ("_nodeVersion", "_npmVersion", "gitHead")
# npm strips this prefix from scripts before publishing ("node_modules/.bin/tsc" -> "tsc").
_BIN_PREFIX = re.compile(r"^(\.[/\\])?node_modules[/\\]\.bin[/\\]")


def _clean_bin_path(path: str) -> str:
    return posixpath.normpath(path.replace("\\", "/")).lstrip("/")


def normalize_bin(package_json: dict, files) -> dict | None:
    """npm's rules: a string bin is named after the package; paths are normalised."""
    bin_field = package_json.get("bin")
    name = str(package_json.get("name", ""))
    if isinstance(bin_field, str):
        bin_field = {name.rsplit("/", 1)[-1]: bin_field}
    if not bin_field:
        directory = (package_json.get("directories") or {}).get("bin")
        if isinstance(directory, str):
            bin_field = _bin_directory(_clean_bin_path(directory).rstrip("/"), files)
    if not isinstance(bin_field, dict) or not bin_field:
        return None
    return {
        posixpath.basename(str(key)): _clean_bin_path(str(value))
        for key, value in bin_field.items()
        if isinstance(value, str)
    }


def _bin_directory(prefix: str, files) -> dict:
    """What npm's glob("**") finds under `directories.bin`: folders too, dot-names not."""
    found = {}
    for file in files:
        if not file.path.startswith(prefix + "/"):
            continue
        parts = file.path[len(prefix) + 1 :].split("/")
        if any(part.startswith(".") for part in parts):
            continue
        for depth in range(1, len(parts) + 1):
            found[parts[depth - 1]] = "/".join([prefix, *parts[:depth]])
    return found


def normalize_bundled(manifest: dict) -> list[str] | None:
    bundled = manifest.get("bundleDependencies", manifest.get("bundledDependencies"))
    if bundled is True:
        return sorted((manifest.get("dependencies") or {}).keys())
    if isinstance(bundled, dict):
        bundled = list(bundled)
    if isinstance(bundled, list) and bundled:
        return sorted(str(item) for item in bundled)
    return None


def _scripts(manifest: dict) -> dict:
    """String scripts, without the node_modules/.bin/ prefix npm strips before publishing."""
    scripts = manifest.get("scripts")
    if not isinstance(scripts, dict):
        return {}
    return {name: _BIN_PREFIX.sub("", cmd) for name, cmd in scripts.items() if isinstance(cmd, str)}


def _implied_scripts(package_json: dict, files) -> dict:
    """Scripts npm adds when packing: node-gyp for a *.gyp file, `node server.js` as start."""
    scripts = _scripts(package_json)
    top = {f.path for f in files if "/" not in f.path and not f.path.startswith(".")}
    if (
        any(path.endswith(".gyp") for path in top)
        and package_json.get("gypfile") is not False
        and not (scripts.get("install") or scripts.get("preinstall"))
    ):
        scripts["install"] = "node-gyp rebuild"
    if "server.js" in top and not scripts.get("start"):
        scripts["start"] = "node server.js"
    return scripts


def _clean_version(version):
    """npm publishes semver.clean(version): no "v" or "=", no spaces, no build metadata."""
    if not isinstance(version, str):
        return version
    cleaned = version.strip().lstrip("=v")
    return cleaned.split("+", 1)[0] if is_valid_version(cleaned) else version


def _dependency_view(manifest: dict) -> dict:
    """Dependencies of every kind, with optional ones folded in as npm's normaliser does."""
    view = {}
    for field in DEPENDENCY_FIELDS:
        value = manifest.get(field)
        view[field] = dict(value) if isinstance(value, dict) else {}
    for name, spec in view["optionalDependencies"].items():
        view["dependencies"][name] = spec
    return view


def manifest_build(*, info: TarballInfo, client_manifest: dict) -> dict:
    """The manifest to publish: package.json from the tarball, normalised the way npm does."""
    package_json = info.package_json
    manifest = {key: value for key, value in package_json.items() if not key.startswith("_")}
    if "version" in manifest:
        manifest["version"] = _clean_version(manifest["version"])
    scripts = _implied_scripts(package_json, info.files)
    manifest.pop("scripts", None)
    if scripts:
        manifest["scripts"] = scripts
    if scripts.get("install") != _scripts(package_json).get("install"):
        manifest["gypfile"] = True
    bin_field = normalize_bin(package_json, info.files)
    manifest.pop("bin", None)
    if bin_field:
        manifest["bin"] = bin_field
    bundled = normalize_bundled(package_json)
    manifest.pop("bundledDependencies", None)
    manifest.pop("bundleDependencies", None)
    if bundled:
        manifest["bundleDependencies"] = bundled
    for field in CLIENT_FIELDS:
        if isinstance(client_manifest.get(field), str):
            manifest[field] = client_manifest[field]
    # npm sets this from the package's own scripts; bundled packages' scripts run on
    # install too, so they count here.
    if any(script in scripts for script in INSTALL_SCRIPTS) or bundled_run_scripts(info):
        manifest["hasInstallScript"] = True
    if any(f.path == "npm-shrinkwrap.json" for f in info.files):
        manifest["_hasShrinkwrap"] = True
    return manifest


def manifest_compare(*, built: dict, client_manifest: dict, info: TarballInfo) -> None:
    """Refuse when the request's manifest disagrees with the tarball's package.json."""
    for field in ("name", "version"):
        if client_manifest.get(field) != built.get(field):
            _mismatch(field, client_manifest.get(field), built.get(field))
    ours, theirs = _dependency_view(built), _dependency_view(client_manifest)
    for field in DEPENDENCY_FIELDS:
        if ours[field] != theirs[field]:
            _mismatch(field, theirs[field], ours[field])
    # The client may or may not have added npm's implied scripts; both are honest.
    client_scripts = _scripts(client_manifest)
    if client_scripts not in (_scripts(info.package_json), built.get("scripts", {})):
        _mismatch("scripts", client_scripts, built.get("scripts", {}))
    client_bin = normalize_bin({**client_manifest, "name": built.get("name")}, info.files)
    if client_bin != built.get("bin"):
        _mismatch("bin", client_bin, built.get("bin"))
    if normalize_bundled(client_manifest) != built.get("bundleDependencies"):
        _mismatch(
            "bundleDependencies",
            normalize_bundled(client_manifest),
            built.get("bundleDependencies"),
        )


def _mismatch(field: str, claimed, actual) -> None:
    raise ManifestMismatch(
        f'The "{field}" in the publish request ({_short(claimed)}) differs from the tarball\'s '
        f"package.json ({_short(actual)}). Gatehouse publishes what the tarball contains; "
        "repack with `npm publish` from the package folder."
    )


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."
