"""Organizations now live in the registry app (registry 0004): the security events' org
points there, and accounts forgets the models. Nothing changes in the database."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_orgs_move"),
        ("registry", "0004_orgs_move"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="securityevent",
                    name="org",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="events",
                        to="registry.org",
                    ),
                ),
                migrations.DeleteModel(name="Invitation"),
                migrations.DeleteModel(name="Membership"),
                migrations.DeleteModel(name="TeamMember"),
                migrations.DeleteModel(name="Team"),
                migrations.DeleteModel(name="Org"),
            ]
        ),
    ]
