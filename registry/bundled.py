"""Packages inside a package: what installing a tarball runs besides the package itself.

A package may ship its dependencies in its tarball (``bundleDependencies``): npm installs
``node_modules/<dep>`` (at any depth) as it finds it, never from the registry, and runs
each one's install scripts like the package's own. So everything that decides what an
install runs, the manifest's ``hasInstallScript`` and the review dossier's signals, looks
at every package.json in the tarball, read by ``tarball_inspect`` under its caps. Any
package.json counts, even outside node_modules: it is cheap to look at, and where npm
would not run it the dossier says so.
"""

import re

from registry.tarballs import NestedPackage, TarballInfo

INSTALL_SCRIPTS = ("preinstall", "install", "postinstall")


def install_scripts(package_json: dict, *, has_binding_gyp: bool) -> dict[str, str]:
    """The scripts npm runs when it installs a package from its folder: preinstall,
    install, postinstall, and `node-gyp rebuild` when a binding.gyp sits beside a
    package.json that has neither install nor preinstall (and does not say gypfile: false)."""
    scripts = package_json.get("scripts")
    scripts = scripts if isinstance(scripts, dict) else {}
    found = {
        name: scripts[name]
        for name in INSTALL_SCRIPTS
        if isinstance(scripts.get(name), str) and scripts[name]
    }
    implied = has_binding_gyp and package_json.get("gypfile") is not False
    if implied and "install" not in found and "preinstall" not in found:
        found["install"] = "node-gyp rebuild"
    return found


def nested_install_scripts(nested: NestedPackage) -> dict[str, str] | None:
    """What installing this nested package runs; None when its package.json cannot be read
    here, so nobody can tell (npm's parser may accept what ours refuses)."""
    if nested.manifest is None:
        return None
    return install_scripts(nested.manifest, has_binding_gyp=nested.has_binding_gyp)


def bundled_run_scripts(info: TarballInfo) -> bool:
    """Whether some package.json below the package's own runs something on install, or
    cannot be read to tell."""
    return any(nested_install_scripts(nested) != {} for nested in info.nested)


def nested_scripts(info: TarballInfo | None) -> list[tuple[NestedPackage, str, str]]:
    """(package, script, command) for every readable package.json below the root."""
    return [
        (nested, name, command)
        for nested in (info.nested if info else ())
        for name, command in (nested_install_scripts(nested) or {}).items()
    ]


def nested_bins(info: TarballInfo | None) -> list[tuple[NestedPackage, str, str]]:
    """(package, command, file) for every command a nested package declares; npm links a
    bundled package's commands for the scripts of the package that bundles it."""
    found = []
    for nested in info.nested if info else ():
        value = (nested.manifest or {}).get("bin")
        if isinstance(value, str):  # named after the package, as npm does
            value = {str(nested.manifest.get("name", "")).rpartition("/")[2]: value}
        if isinstance(value, dict):
            found += [(nested, str(name), str(target)) for name, target in value.items()]
    return found


def is_bundled(nested: NestedPackage) -> bool:
    """Inside a node_modules folder, where npm looks for installed packages."""
    return "node_modules" in re.split(r"[/\\]", nested.folder.lower())
