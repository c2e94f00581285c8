"""The version manifest, built from the tarball's own package.json.

The npm client sends a manifest next to the tarball; a registry that trusted it would let
a publisher show installers one set of dependencies and scripts while shipping another
(manifest confusion). Gatehouse builds the manifest from the tarball and refuses a publish
whose request disagrees with it on anything that changes what an install does.
"""

import posixpath

from registry.exceptions import ManifestMismatch
from registry.tarballs import TarballInfo

DEPENDENCY_FIELDS = ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies")
INSTALL_SCRIPTS = ("preinstall", "install", "postinstall")
# Fields the client adds at publish time that are not in package.json and are harmless to keep.
CLIENT_FIELDS = ("_nodeVersion", "_npmVersion", "gitHead")


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
            prefix = _clean_bin_path(directory).rstrip("/") + "/"
            bin_field = {
                posixpath.basename(f.path): f.path for f in files if f.path.startswith(prefix)
            }
    if not isinstance(bin_field, dict) or not bin_field:
        return None
    return {
        posixpath.basename(str(key)): _clean_bin_path(str(value))
        for key, value in bin_field.items()
        if isinstance(value, str)
    }


def normalize_bundled(manifest: dict) -> list[str] | None:
    bundled = manifest.get("bundleDependencies", manifest.get("bundledDependencies"))
    if bundled is True:
        return sorted((manifest.get("dependencies") or {}).keys())
    if isinstance(bundled, list) and bundled:
        return sorted(str(item) for item in bundled)
    return None


def _scripts(manifest: dict) -> dict:
    scripts = manifest.get("scripts")
    return dict(scripts) if isinstance(scripts, dict) else {}


def _with_gyp(scripts: dict, has_binding_gyp: bool) -> dict:
    if has_binding_gyp and "install" not in scripts and "preinstall" not in scripts:
        return {**scripts, "install": "node-gyp rebuild"}
    return scripts


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
    scripts = _with_gyp(_scripts(package_json), info.has_binding_gyp)
    if scripts:
        manifest["scripts"] = scripts
    if scripts != _scripts(package_json):
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
    if any(script in scripts for script in INSTALL_SCRIPTS):
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
    # The client may or may not have added npm's implicit `node-gyp rebuild`; both are honest.
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
