"""``dossier daemon``: APScheduler in the foreground, for systemd.

One sync job per account at its interval and one nightly re-index and re-link, kept in a job
store in the archive's own database (so schedules and missed runs survive restarts). Jobs never
overlap (``max_instances=1``, ``coalesce``) and run one at a time in a single worker thread,
each under the archive's write lock, so a manual ``dossier sync`` waits for a running job and
vice versa. SIGTERM/SIGINT stop the scheduler; a sync in flight finishes the batch it is
committing, stops at the next batch boundary, and the daemon exits 0.

While it runs, it also answers read operations (a search, a message, a customer's dossier …)
on the data directory's socket (``serve.py``), from a thread of its own, so a search need not
wait for a job; with ``[web] listen`` it serves the web front end too (``config.web``).
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from .archive import Archive
from .db import check_url
from .lock import claim, daemon_lock, running_daemons, uses_database_locks, write_lock
from .nodes import Heartbeat, other_live_nodes, run_once
from .serve import QueryServer
from .settings import ConfigError, Settings, load_settings
from .sync import LogProgress, sync

log = logging.getLogger("dossier.daemon")

#: Set by SIGTERM/SIGINT; running jobs stop at their next batch boundary.
STOP = threading.Event()

JOB_TABLE = "dossier_scheduler_jobs"
NIGHTLY_ID = "nightly"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and any ``extra`` fields."""

    _standard = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in self._standard and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info).splitlines()[-1]
        return json.dumps(entry, ensure_ascii=False, default=str)


def _setup_logging(log_format: str, verbosity: int) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else
                         logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbosity > 1 else logging.INFO)
    logging.getLogger("apscheduler").setLevel(logging.INFO if verbosity else logging.WARNING)
    logging.getLogger("config.pipeline").setLevel(logging.WARNING)


def _job_settings(data_dir: str, config_path: str) -> Settings:
    # Re-read for every run: customers, accounts and linking rules may have changed since start.
    return load_settings(Path(data_dir), Path(config_path))


class NodeProgress(LogProgress):
    """The daemon's sync progress: logged, and each account it claims told to its heartbeat."""

    def claimed(self, account: str) -> None:
        _hold(f"sync {account}")

    def released(self, account: str) -> None:
        _release(f"sync {account}")


#: This daemon's presence in the archive's nodes table (set while run_daemon runs).
_heartbeat: Heartbeat | None = None


def _hold(what: str) -> None:
    if _heartbeat is not None:
        _heartbeat.hold(what)


def _release(what: str) -> None:
    if _heartbeat is not None:
        _heartbeat.release(what)


def sync_job(data_dir: str, config_path: str, account: str) -> None:
    """Scheduled: one sync pass of ``account`` (referenced by name from the job store). On
    PostgreSQL the nodes of the archive share the write lock, and the first to claim the account
    syncs it; the others skip this pass (so a node that dies hands it on within one interval)."""
    settings = _job_settings(data_dir, config_path)
    with write_lock(settings, f"dossier daemon: sync {account}", shared=True, wait=None, should_stop=STOP.is_set):
        archive = Archive(settings)
        try:
            report = sync(archive, [settings.account(account)], progress=NodeProgress(), should_stop=STOP.is_set)
        finally:
            archive.close()
    for error in report.errors:  # the pass logs them only at info: the CLI prints them itself
        log.error("sync %s failed: %s", account, error)
    if report.skipped:
        log.info("sync %s skipped: %s", account, report.skipped[0], extra={"event": "sync_skipped", "account": account})
        return
    log.info("sync %s done", account, extra={"event": "sync", "account": account, **report.summary()})


def latest_slot(crontab: str, now: datetime) -> datetime:
    """The latest time at or before ``now`` (aware) that ``crontab`` schedules, as naive UTC."""
    from apscheduler.triggers.cron import CronTrigger

    trigger = CronTrigger.from_crontab(crontab)
    now = now.astimezone(trigger.timezone)
    slot, fire = now, trigger.get_next_fire_time(None, now - timedelta(days=8))
    while fire is not None and fire <= now:
        slot, fire = fire, trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return slot.astimezone(timezone.utc).replace(tzinfo=None)


def nightly_job(data_dir: str, config_path: str) -> None:
    """Scheduled: rebuild the index and recompute every automatic link, once per scheduled time
    for the whole archive, by whichever node claims it first (on PostgreSQL several run it)."""
    from .pipeline import reindex, relink_all

    settings = _job_settings(data_dir, config_path)
    slot = latest_slot(settings.nightly, datetime.now(timezone.utc))
    with claim(settings, "nightly", "dossier daemon: nightly re-index and re-link") as holder:
        if holder is not None:
            log.info("nightly re-index and re-link skipped: %s is running it", holder,
                     extra={"event": "nightly_skipped"})
            return
        with write_lock(settings, "dossier daemon: nightly re-index and re-link", wait=None, should_stop=STOP.is_set):
            archive = Archive(settings)
            done: dict[str, int] = {}

            def run() -> None:
                _hold("nightly")
                try:
                    done["indexed"] = reindex(archive)
                    done["relinked"] = relink_all(archive)
                finally:
                    _release("nightly")

            try:
                started = time.monotonic()
                ran = run_once(archive.sessions, NIGHTLY_ID, slot, archive.node, run)
            finally:
                archive.close()
    if ran:
        log.info("nightly re-index and re-link done", extra={
            "event": "nightly", **done, "seconds": round(time.monotonic() - started, 1)})


def _job_failed(event) -> None:
    log.error("job %s failed: %s", event.job_id, event.exception,
              extra={"event": "job_failed", "job": event.job_id})


def job_table(settings: Settings, node: str) -> str:
    """The table of the daemon's schedule: one per node where several share the database."""
    return f"{JOB_TABLE}_{node[:12]}" if uses_database_locks(settings) else JOB_TABLE


def build_scheduler(settings: Settings, node: str):
    """A scheduler with this archive's jobs for node ``node``, not yet started."""
    from apscheduler.events import EVENT_JOB_ERROR
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.cron import CronTrigger

    # The job store shares the archive's database; on SQLite it waits for a batch in flight
    # rather than failing with "database is locked". On PostgreSQL each node keeps a schedule
    # of its own (every scheduler runs every job of its table): the nightly job still runs once
    # for the archive, and each account's pass is claimed by one node.
    options = {"connect_args": {"timeout": 30}} if settings.database_url.startswith("sqlite") else {}
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=check_url(settings.database_url, settings.database_source),
                                                 tablename=job_table(settings, node), engine_options=options)},
        executors={"default": ThreadPoolExecutor(1)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 6 * 3600},
    )
    scheduler.add_listener(_job_failed, EVENT_JOB_ERROR)
    args = [str(settings.data_dir), str(settings.config_path)]
    try:
        nightly = CronTrigger.from_crontab(settings.nightly)
    except ValueError as exc:
        raise ConfigError(
            f"{settings.config_path}: [daemon] nightly {settings.nightly!r} is not valid: {exc}"
        ) from None
    scheduler.add_job("config.daemon:nightly_job", nightly, args=args, id=NIGHTLY_ID, name="nightly re-index",
                      replace_existing=True)
    now = datetime.now(timezone.utc)
    for account in settings.accounts:
        scheduler.add_job(
            "config.daemon:sync_job", "interval", minutes=account.interval, args=[*args, account.name],
            id=f"sync:{account.name}", name=f"sync {account.name}", replace_existing=True, next_run_time=now,
        )
    return scheduler


def _start_web(settings: Settings):
    """The web front end in a thread of the daemon, when ``[web] listen`` asks for it."""
    if not settings.web_listen:
        return None
    from .settings import parse_listen
    from .web import start_web

    host, port = parse_listen(settings.web_listen)
    return start_web(settings, host, port)


def run_daemon(settings: Settings, *, log_format: str = "json", verbosity: int = 0) -> None:
    """Run until SIGTERM/SIGINT. Raises ConfigError when another daemon serves this data
    directory, or when another node serves the archive and the index is not one all nodes share."""
    global _heartbeat
    _setup_logging(log_format, verbosity)
    archive = Archive(settings)  # creates or upgrades the schema before the job store uses the database
    try:
        with daemon_lock(settings, archive.node):
            _refuse_unshared_index(archive)
            scheduler = build_scheduler(settings, archive.node)
            STOP.clear()
            server = QueryServer(settings)

            def stop(signum, _frame) -> None:
                log.info("received %s, stopping after the batch in flight", signal.Signals(signum).name,
                         extra={"event": "stopping"})
                STOP.set()

            signal.signal(signal.SIGTERM, stop)
            signal.signal(signal.SIGINT, stop)
            _heartbeat = Heartbeat(archive.engine, archive.node)
            _heartbeat.start()
            try:
                _serve(settings, scheduler, server, archive.node)
            finally:
                _heartbeat.stop()
                _heartbeat = None
    finally:
        archive.close()


def _refuse_unshared_index(archive: Archive) -> None:
    """Several nodes search one index only when it lives in the database: a node's own index
    files would lack what the others import (while the archive counted it indexed)."""
    if archive.index.is_shared or not uses_database_locks(archive.settings):
        return
    with archive.sessions() as session:
        others = other_live_nodes(session, archive.node,
                                  running=lambda ids: running_daemons(archive.settings, ids))
    if others:
        from index import DATABASE_ENGINE

        other = others[0]
        raise ConfigError(
            f"node {other.id[:8]} ({other.host}:{other.data_dir}) already runs a daemon on this archive, whose "
            f"search index ({archive.index.engine_name}) is files of one node; several nodes share an index kept in "
            f"the database: set [index] engine = \"{DATABASE_ENGINE}\" and run `dossier reindex --engine "
            f"{DATABASE_ENGINE}`")


def _serve(settings: Settings, scheduler, server: QueryServer, node: str) -> None:
    scheduler.start(paused=True)
    # Accounts removed from the config must not keep their stored schedules.
    wanted = {f"sync:{a.name}" for a in settings.accounts} | {NIGHTLY_ID}
    for job in scheduler.get_jobs():
        if job.id not in wanted:
            scheduler.remove_job(job.id)
    scheduler.resume()
    serving = server.start()
    web = _start_web(settings)
    log.info("daemon started", extra={
        "event": "started", "data_dir": str(settings.data_dir), "node": node,
        "accounts": [a.name for a in settings.accounts], "nightly": settings.nightly, "serving": serving,
        "web": settings.web_listen or None})
    try:
        while not STOP.wait(1.0):
            pass
    finally:
        server.stop()
        if web is not None:
            web.stop()
    scheduler.shutdown(wait=True)
    log.info("daemon stopped", extra={"event": "stopped"})
