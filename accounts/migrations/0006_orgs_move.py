"""Organizations move to the registry app (registry.orgs): first their tables take the
registry's names. Rows stay where they are; only the names change."""

from django.db import migrations

ORG_MODELS = ("org", "membership", "team", "teammember", "invitation")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_second_factor_uses"),
        ("registry", "0003_orgs"),
    ]

    operations = [
        migrations.AlterModelTable(name=name, table=f"registry_{name}") for name in ORG_MODELS
    ]
