"""Staged releases are staged by a person or with a token: no other kind of actor exists."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0004_orgs_move"),
    ]

    operations = [
        migrations.AlterField(
            model_name="stagedrelease",
            name="actor_type",
            field=models.CharField(choices=[("user", "User"), ("token", "Token")], max_length=20),
        ),
    ]
