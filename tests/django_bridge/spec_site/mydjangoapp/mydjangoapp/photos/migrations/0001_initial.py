from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Photo",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("user", models.CharField(max_length=100)),
                ("title", models.CharField(max_length=200)),
                ("topic", models.IntegerField(default=0)),
                ("create_at", models.DateTimeField(auto_now_add=True)),
            ],
        ),
    ]
