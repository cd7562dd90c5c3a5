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
from datetime import datetime, timezone
from pathlib import Path

from .archive import Archive
from .lock import DAEMON_LOCK, ArchiveLock
from .serve import QueryServer
from .settings import ConfigError, Settings, load_settings

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


def sync_job(data_dir: str, config_path: str, account: str) -> None:
    """Scheduled: one sync pass of ``account`` (referenced by name from the job store)."""
    from .sync import LogProgress, sync

    settings = _job_settings(data_dir, config_path)
    with ArchiveLock(settings.data_dir, f"dossier daemon: sync {account}", wait=None):
        archive = Archive(settings)
        try:
            report = sync(archive, [settings.account(account)], progress=LogProgress(), should_stop=STOP.is_set)
        finally:
            archive.close()
    for error in report.errors:  # the pass logs them only at info: the CLI prints them itself
        log.error("sync %s failed: %s", account, error)
    log.info("sync %s done", account, extra={"event": "sync", "account": account, **report.summary()})


def nightly_job(data_dir: str, config_path: str) -> None:
    """Scheduled: rebuild the index and recompute every automatic link."""
    from .pipeline import reindex, relink_all

    settings = _job_settings(data_dir, config_path)
    with ArchiveLock(settings.data_dir, "dossier daemon: nightly re-index and re-link", wait=None):
        archive = Archive(settings)
        try:
            started = time.monotonic()
            indexed = reindex(archive)
            changed = relink_all(archive)
        finally:
            archive.close()
    log.info("nightly re-index and re-link done", extra={
        "event": "nightly", "indexed": indexed, "relinked": changed, "seconds": round(time.monotonic() - started, 1)})


def _job_failed(event) -> None:
    log.error("job %s failed: %s", event.job_id, event.exception,
              extra={"event": "job_failed", "job": event.job_id})


def build_scheduler(settings: Settings):
    """A scheduler with this archive's jobs, not yet started."""
    from apscheduler.events import EVENT_JOB_ERROR
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.cron import CronTrigger

    # The job store shares the archive's database; on SQLite it waits for a batch in flight
    # rather than failing with "database is locked".
    options = {"connect_args": {"timeout": 30}} if settings.database_url.startswith("sqlite") else {}
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=settings.database_url, tablename=JOB_TABLE,
                                                 engine_options=options)},
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
    """Run until SIGTERM/SIGINT. Raises ConfigError when another daemon serves this archive."""
    _setup_logging(log_format, verbosity)
    with ArchiveLock(settings.data_dir, "dossier daemon", name=DAEMON_LOCK, wait=0):
        Archive(settings).close()  # creates or upgrades the schema before the job store uses the database
        scheduler = build_scheduler(settings)
        STOP.clear()
        server = QueryServer(settings)

        def stop(signum, _frame) -> None:
            log.info("received %s, stopping after the batch in flight", signal.Signals(signum).name,
                     extra={"event": "stopping"})
            STOP.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
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
            "event": "started", "data_dir": str(settings.data_dir), "accounts": [a.name for a in settings.accounts],
            "nightly": settings.nightly, "serving": serving, "web": settings.web_listen or None})
        try:
            while not STOP.wait(1.0):
                pass
        finally:
            server.stop()
            if web is not None:
                web.stop()
        scheduler.shutdown(wait=True)
        log.info("daemon stopped", extra={"event": "stopped"})
