"""What the report shows: each figure names its query (a .sql file beside this module),
the schemas it needs, and how its chart is drawn. Adding a figure is adding a row here
and a .sql file."""

from __future__ import annotations

from dataclasses import dataclass, field

E = "https://telemetry.jupyter.org/schemas/events/"
KERNEL = E + "kernel/lifecycle"
CODE = E + "kernel/code-executed"
SESSION = E + "server/session"
COMMAND = E + "jupyterlab/command"
NOTEBOOK = E + "jupyterlab/notebook/cell-executed"
OPENED = E + "contents/opened"
DATASET = E + "contents/dataset-opened"
LOGIN = E + "hub/login"
SERVER = E + "hub/server"
CONSENT = E + "consent/decision"
ALERT = E + "detect/alert"


@dataclass(frozen=True)
class Chart:
    """A Vega-Lite chart of a figure's rows: ``mark`` with ``x`` and ``y`` (field names;
    several ``y`` are drawn as one series each), coloured by ``color`` when given."""

    mark: str
    x: str
    y: tuple[str, ...]
    color: str | None = None
    x_type: str = "temporal"
    horizontal: bool = False


@dataclass(frozen=True)
class Figure:
    """One question the report answers: a chart and a small table from one query."""

    id: str
    section: str
    title: str
    description: str
    schemas: tuple[str, ...]
    chart: Chart | None
    #: rows kept in the table and chart, after suppression (the JSON keeps them all)
    limit: int | None = None
    #: also show the last rows of the ordered result (least used)
    tail: int | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def sql_file(self) -> str:
        return f"{self.id}.sql"


def _bars(x: str, *y: str, color: str | None = None) -> Chart:
    return Chart("bar", x, y, color=color, x_type="nominal", horizontal=True)


FIGURES: tuple[Figure, ...] = (
    Figure("active_users_day", "Users", "Active users per day",
           "Users with at least one recorded event on each UTC day.", (),
           Chart("line", "day", ("users",))),
    Figure("active_users_week", "Users", "Active users per week",
           "Users with at least one recorded event in each week (Monday to Sunday).", (),
           Chart("bar", "week", ("users",))),
    Figure("sessions_kernels_day", "Kernels", "Sessions and kernels started per day",
           "Server sessions and kernels started on each UTC day.", (SESSION, KERNEL),
           Chart("line", "day", ("sessions_started", "kernels_started"))),
    Figure("kernel_hours_by_name", "Kernels", "Kernel-hours by kernel name",
           "Hours kernels ran (the lifetime reported when they stopped; kernels still "
           "running count to the end of the period).", (KERNEL,),
           _bars("kernel_name", "kernel_hours")),
    Figure("kernel_hours_by_group", "Kernels", "Kernel-hours by user group",
           "The same hours by the group of the kernel's user (--user-groups).", (KERNEL,),
           _bars("user_group", "kernel_hours")),
    Figure("idle_kernels", "Kernels", "Idle kernels",
           "Kernels that went at least the idle threshold without running code (after "
           "starting, between runs, or before stopping).", (KERNEL, CODE),
           _bars("kernel_name", "kernels", "idle_kernels")),
    Figure("executions_day", "Code", "Code executions per day",
           "Code run on kernels each UTC day and the share that ended in an error.",
           (CODE,), Chart("bar", "day", ("executions", "errors"))),
    Figure("executions_status", "Code", "Executions by status",
           "Code run on kernels by the status of the kernel's reply.", (CODE,),
           _bars("status", "executions")),
    Figure("commands", "JupyterLab", "JupyterLab commands, most and least used",
           "Commands run from menus, keyboard shortcuts, the palette and toolbars.",
           (COMMAND,), _bars("command_id", "uses"), limit=15, tail=10),
    Figure("notebook_actions", "JupyterLab", "Notebook actions",
           "Cells run, edited, added, removed, clipboard use and more.", (NOTEBOOK,),
           _bars("action", "uses")),
    Figure("files_opened", "Files", "Files opened most",
           "Notebooks, files and datasets opened, by kind and path (the path only where "
           "the policy kept it).", (OPENED,), _bars("path", "opens", color="kind"),
           limit=20),
    Figure("datasets_opened", "Files", "Datasets opened most",
           "Data files opened through the contents API or in a kernel, by format and "
           "path.", (DATASET,), _bars("path", "opens", color="format"), limit=20),
    Figure("hub_day", "JupyterHub", "Hub logins and spawns per day",
           "Logins, spawns begun and servers started (spawner hooks) each UTC day.",
           (LOGIN, SERVER), Chart("line", "day", ("logins", "spawns", "servers_started"))),
    Figure("hub_spawns", "JupyterHub", "Spawn failures and spawn time",
           "Each spawn paired with the next event of the same server: started is a "
           "success after that many seconds, anything else a failure.", (SERVER,),
           _bars("series", "p50_s", "p90_s", "p99_s", "max_s")),
    Figure("consent_week", "Consent", "Consent decisions per week",
           "Opt-in and opt-out decisions per schema (or group of schemas) each week.",
           (CONSENT,), Chart("bar", "week", ("users",), color="series")),
    Figure("consent_notices", "Consent", "Notice versions",
           "The transparency notice versions users decided against, and when.",
           (CONSENT,), _bars("notice_version", "opt_in", "opt_out")),
    Figure("sink_counters", "Delivery", "Events the sinks did not deliver",
           "Per sink, from the stats files in its spool slots (--spool-root): accepted, "
           "delivered, waiting in the spool, dead-lettered and dropped. Events not "
           "recorded at all (not allowed, no consent, invalid) are counted only in the "
           "running process (telemetry sinks --stats), not stored.", (),
           _bars("sink", "delivered", "spooled", "dead_lettered", "dropped")),
    Figure("alerts", "Detection", "Alerts by rule",
           "Sigma rules that matched (telemetry-detect), when detection is on.",
           (ALERT,), _bars("title", "alerts", color="level")),
)
