"""Organizations, the wing of the registry where people own packages together.

An org owns the scope `@<name>`: its members hold roles, its teams hold grants on its
packages, and its policies join the package's own at `registry.authz`. Everything about
orgs lives here: models, services, portal pages, the REST API and the npm org/team
protocol (see docs/architecture.md).
"""
