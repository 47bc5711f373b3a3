"""Table ``foo`` of the corequest benchmark (created by ``bench_corequests.py``)."""

from django.db import models


class Foo(models.Model):
    """One transaction row."""

    from_wallet_id = models.IntegerField()
    detail = models.TextField()
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    created_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "foo"
