"""One unmanaged model for both schemas.

`tm_invocation` is a TEMP view that `telemetry.sqlite_ro` creates on each connection from the
file's columns (see telemetry.schema.view_sql), so the admin, filters, search and exports see one
shape whether the file is the spec's schema or llm-service's. Why not two models: every admin
option, template and export would be written twice, and the file may switch schema while we run.
"""

# ruff: noqa: DJ001 - NULL is a real value in the files we mirror; we never write them.
from django.db import models


class Invocation(models.Model):
    id = models.BigIntegerField("row", primary_key=True)  # the SQLite rowid
    timestamp = models.DateTimeField(
        null=True, help_text="UTC in the file; shown in the dashboard zone"
    )
    raw_timestamp = models.TextField("timestamp as stored", null=True)
    model_name = models.TextField("model", null=True)
    tool_name = models.TextField("tool", null=True)
    agent_name = models.TextField("agent", null=True)
    tokens = models.BigIntegerField(default=0)
    prompt_tokens = models.BigIntegerField(null=True)
    completion_tokens = models.BigIntegerField(null=True)
    cost = models.FloatField("cost (USD)", default=0.0, help_text="NULL and negative count as 0")
    raw_cost = models.FloatField("cost as stored", null=True)
    latency_ms = models.FloatField("latency (ms)", null=True)
    status = models.TextField(null=True)
    invocation_id = models.TextField(null=True)
    error_message = models.TextField(null=True)
    privacy_level = models.TextField(null=True)

    class Meta:
        managed = False
        db_table = "tm_invocation"
        ordering = ["-id"]
        default_permissions = ()  # nothing to grant: the drill-down is read-only for everyone

    def __str__(self) -> str:
        return f"Invocation {self.id}"
