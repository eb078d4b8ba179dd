"""One release of a service at a time: a lease in SSM Parameter Store.

The release role can do this alone (no table, bucket or other admin resource): PutParameter with
Overwrite=False is an atomic create-if-absent. The lease of a service is a chain of numbered
generations under /deployer/locks/<cluster>/<service>/ (g0000000001, g0000000002, ...); the
highest one is the lease. Each value is JSON: owner (CodeBuild build id, else user@host pid N),
command, started_at, heartbeat_at, expires_at, released, and a token only its holder knows.

- acquire: read the generations; if there are none, or the highest is released or expired (its
  holder died without releasing: kill -9, a lost machine), create highest+1 with Overwrite=False.
  Two contenders that read the same state race for the same name and only one create succeeds;
  the winner reads again to check its generation is now the highest (a very stale reader could
  re-create a generation that was cleaned up below the real lease), then deletes older ones.
- held by a live holder: exit 1 naming it, or with --wait-for-lock poll (progress lines) until it
  is free or --lock-timeout runs out. Either happens before any write to the service.
- heartbeat: a thread rewrites its generation every ttl/4; it first checks that no higher
  generation exists. Throttling, a 5xx, an unreachable SSM are retried (sooner than ttl/4) and are
  never a loss; only a read that proves another holder (a higher generation, or ours replaced or
  removed) is: then the main thread is stopped (LeaseLost) before its next write.
- release: the highest generation is marked released (kept, never deleted: the chain's head must
  never vanish, or a contender that read an older head could create a second live generation).

Expiry trusts no client's clock (a holder's clock a day fast, a reader's 5 minutes fast). A
generation is stale, its holder gone, when either proves that its heartbeat stopped for ttl:
- SSM's own clock: the age of the parameter, the Date of SSM's answer (the server's time) minus
  its LastModifiedDate (the server's time of the holder's last write). A reader that just arrived
  knows at once from one read;
- the reader's own monotonic clock: the parameter (its Version, LastModifiedDate and value) has not
  changed for ttl since this reader first saw it (a fallback for an answer without a Date).
The holder's started_at/heartbeat_at/expires_at are informative only. The holder counts its own
ttl on its monotonic clock from the moment it sent its last successful write: the server stamped
that write later, so no reader can find the lease stale before the holder knows it may be.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import random
import signal
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterator

from ..core.errors import DeployerError, DeploymentFailed, ExternalError

LOCK_ROOT = "/deployer/locks"
# Seconds added to the ttl before a reader calls a heartbeat stale: SSM's Date has whole seconds,
# and its front ends' clocks may differ by a little.
STALE_MARGIN = 2.0
HEARTBEAT_ATTEMPTS = 2  # per renewal call; the heartbeat itself tries again within the ttl
MAX_TTL = 86400  # a ttl_s beyond this in a generation is not believed (the reader's own ttl is used)
POLL_SECONDS = 2.0  # how often a waiting release reads the lease again
PROGRESS_SECONDS = 10.0  # how often a waiting release says it is still waiting


class LeaseHeld(DeployerError):
    """Another live release holds the lease (exit 1); nothing was written to the service."""


class LeaseLost(DeploymentFailed):
    """A read proved the lease is no longer ours (taken over, replaced or removed): stop before the
    next write (exit 1). holder: the generation that holds it now (None: nobody does)."""

    def __init__(self, message: str, *, hint: str | None = None, result: dict | None = None, lease: "Lease | None" = None,
                 holder: "Record | None" = None, acknowledge=None, retake=None):
        super().__init__(message, hint=hint, result=result)
        self.lease, self.holder = lease, holder
        self._acknowledge, self._retake = acknowledge, retake

    def acknowledge(self) -> None:
        """Stop the heartbeat thread's repeated interrupts: the caller handles the loss."""
        if self._acknowledge is not None:
            self._acknowledge()

    def retake(self) -> "Lease | None":
        """Take the lease of the lost service again (nobody holds it): a new generation, released with
        the others at the end of the block; None when another release got it first."""
        return self._retake() if self._retake is not None else None


def lease_path(cluster: str, service: str) -> str:
    """By the cluster's name, also when the environment gives its ARN (":" is not allowed in SSM names)."""
    return f"{LOCK_ROOT}/{cluster.rsplit('/', 1)[-1]}/{service}"


def generation_name(path: str, generation: int) -> str:
    return f"{path}/g{generation:010d}"


def whoami() -> str:
    """CodeBuild's build id, else user@host pid N: what another release's message names."""
    build = os.environ.get("CODEBUILD_BUILD_ID")
    if build:
        return build
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in a bare container
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()} pid {os.getpid()}"


def now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value) -> datetime:
    try:
        return datetime.strptime(str(value), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return datetime.fromtimestamp(0, timezone.utc)  # unreadable: counts as expired


@dataclass(frozen=True)
class Record:
    """One generation of a service's lease, as read from SSM."""

    generation: int
    name: str
    owner: str
    command: str
    token: str
    started_at: datetime
    heartbeat_at: datetime
    expires_at: datetime
    released: bool
    ttl: int | None = None  # the holder's ttl_s: how often it beats (ttl/4)
    # What SSM said: Version and LastModifiedDate of the parameter, and its age by SSM's clock when
    # read (the answer's Date minus LastModifiedDate; None without a Date).
    version: int | None = None
    modified_at: datetime | None = None
    age: float | None = None
    value: str = ""
    readable: bool = True  # False: not a JSON object (not written by deployer): free at once

    def describe(self) -> str:
        beat = f", last heartbeat {self.age:.0f}s ago by SSM's clock" if self.age is not None else ""
        return f"{self.owner} ({self.command}, since {_iso(self.started_at)}{beat})"

    def signature(self) -> tuple:
        """What changes at each heartbeat (whatever the holder's clock says)."""
        return (self.version, self.modified_at, self.value)

    def ttl_or(self, default: int) -> int:
        return self.ttl if self.ttl is not None and 2 <= self.ttl <= MAX_TTL else default

    @classmethod
    def parse(cls, name: str, value: str, *, version: int | None = None, modified_at: datetime | None = None,
              server_now: datetime | None = None) -> "Record | None":
        try:
            generation = int(name.rsplit("/g", 1)[1])
        except (IndexError, ValueError):
            return None  # not a generation: left alone
        try:
            data = json.loads(value)
        except ValueError:
            data = None
        readable = isinstance(data, dict)
        data = data if readable else {}
        return cls(
            generation=generation,
            name=name,
            owner=str(data.get("owner") or "an unknown holder"),
            command=str(data.get("command") or "?"),
            token=str(data.get("token") or ""),
            started_at=_parse_time(data.get("started_at")),
            heartbeat_at=_parse_time(data.get("heartbeat_at")),
            expires_at=_parse_time(data.get("expires_at")),
            released=bool(data.get("released")),
            ttl=data.get("ttl_s") if isinstance(data.get("ttl_s"), int) and not isinstance(data.get("ttl_s"), bool) else None,
            version=version,
            modified_at=modified_at,
            age=max(0.0, (server_now - modified_at).total_seconds()) if server_now is not None and modified_at is not None else None,
            value=value,
            readable=readable,
        )


def head(records: list[Record]) -> Record | None:
    """The lease: the highest generation."""
    return max(records, key=lambda r: r.generation, default=None)


class Watcher:
    """A reader's own observation of heartbeats, on its monotonic clock: when it first saw each
    generation as it is now. A heartbeat changes the parameter (Version, LastModifiedDate, value)."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self._seen: dict[str, tuple[tuple, float]] = {}

    def unchanged_for(self, record: Record) -> float:
        """Seconds this reader has seen the generation unchanged (0 the first time, or after a change)."""
        at = self.clock()
        signature = record.signature()
        known = self._seen.get(record.name)
        if known is None or known[0] != signature:
            self._seen[record.name] = (signature, at)
            return 0.0
        return at - known[1]


def staleness(record: Record | None, watcher: Watcher, default_ttl: int) -> str | None:
    """Why the generation no longer holds the lease (None: it is live). Never a client's clock: SSM's
    own clock (the parameter's age), or this reader watching it not change for ttl."""
    if record is None:
        return "nobody holds it"
    if record.released:
        return "released"
    if not record.readable:
        return "its value is not a lease deployer wrote"
    ttl = record.ttl_or(default_ttl)
    quiet = watcher.unchanged_for(record)
    if record.age is not None and record.age > ttl + STALE_MARGIN:
        return f"its last heartbeat was {record.age:.0f}s ago by SSM's clock (ttl {ttl}s)"
    if quiet > ttl + STALE_MARGIN:
        return f"its heartbeat has not changed for {quiet:.0f}s while this release watched it (ttl {ttl}s)"
    return None


class LeaseStore:
    """The lease's records, kept as SSM parameters under the lease's path (aws/stores.py makes the calls)."""

    def __init__(self, aws, *, attempts: int | None = None):
        self.aws = aws
        self.attempts = attempts

    @property
    def _call(self) -> dict:
        """How each SSM call is made: the heartbeat's store makes few attempts with a short timeout."""
        return {"attempts": self.attempts, "timeout": 10} if self.attempts else {}

    def for_heartbeat(self) -> "LeaseStore":
        """The heartbeat paces its own retries (sooner than ttl/4): a call must not sit in botocore's
        adaptive backoff for longer than the ttl."""
        return LeaseStore(self.aws, attempts=HEARTBEAT_ATTEMPTS)

    def read(self, path: str) -> list[Record]:
        from ..aws.stores import parameters_under

        records = []
        for parameter in parameters_under(self.aws, path, doing=f"reading the lease {path} (ssm GetParametersByPath)", **self._call):
            record = Record.parse(parameter["Name"], parameter.get("Value", ""), version=parameter.get("Version"),
                                  modified_at=_aware(parameter.get("LastModifiedDate")), server_now=server_time(parameter.get("ServerDate")))
            if record is not None:
                records.append(record)
        return records

    def create(self, name: str, value: dict) -> bool:
        """Create-if-absent: False when the name exists (another release got there first)."""
        from ..aws.stores import create_parameter

        return create_parameter(self.aws, name, json.dumps(value), doing=f"taking the lease {name} (ssm PutParameter)", **self._call)

    def overwrite(self, name: str, value: dict) -> None:
        from ..aws.stores import overwrite_parameter

        overwrite_parameter(self.aws, name, json.dumps(value), doing=f"renewing the lease {name} (ssm PutParameter)", **self._call)

    def delete(self, name: str) -> None:
        from ..aws.stores import delete_parameter

        delete_parameter(self.aws, name, doing=f"deleting the old lease generation {name} (ssm DeleteParameter)", **self._call)


def server_time(date: str | None) -> datetime | None:
    """SSM's clock: the Date header of its answer (whole seconds; None when absent or unreadable)."""
    from email.utils import parsedate_to_datetime

    try:
        return _aware(parsedate_to_datetime(date)) if date else None
    except (TypeError, ValueError, IndexError):
        return None


def _aware(moment) -> datetime | None:
    if not isinstance(moment, datetime):
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


@dataclass
class Claim:
    """What this process writes into its generation."""

    owner: str
    command: str
    ttl: int
    token: str
    started_at: datetime

    def value(self, *, released: bool = False) -> dict:
        beat = now()
        return {
            "owner": self.owner,
            "command": self.command,
            "token": self.token,
            "started_at": _iso(self.started_at),
            "heartbeat_at": _iso(beat),
            # Whole seconds are written: round the expiry up so a lease never looks shorter than ttl.
            "expires_at": _iso(beat + timedelta(seconds=self.ttl + 1)),
            "ttl_s": self.ttl,
            "released": released,
        }


class Lease:
    """A lease this process holds on one service, kept alive by a heartbeat thread."""

    def __init__(self, store: LeaseStore, service: str, path: str, generation: int, claim: Claim, console, on_lost=None,
                 renewed_at: float | None = None, clock=time.monotonic):
        self.store = store
        self.beats = store.for_heartbeat() if hasattr(store, "for_heartbeat") else store
        self.service = service
        self.path = path
        self.generation = generation
        self.name = generation_name(path, generation)
        self.claim = claim
        self.console = console
        self.on_lost = on_lost
        self.lost: str | None = None
        self.holder: Record | None = None  # who holds the lease once it is lost (None: nobody)
        self.clock = clock
        # When the last write that renewed it was sent (our monotonic clock): SSM stamped it later.
        self.renewed_at = clock() if renewed_at is None else renewed_at
        self.failures = 0
        self.warned_expiry = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat_loop, name=f"lease-{service}", daemon=True)

    def start(self) -> "Lease":
        self._thread.start()
        return self

    def next_beat(self) -> float:
        """Every ttl/4; after a failed renewal sooner (1, 2, 4 s... up to ttl/4): throttling is retried
        well within the ttl."""
        every = max(0.5, self.claim.ttl / 4)
        return every if not self.failures else min(every, 0.5 * 2 ** (self.failures - 1))

    def _beat_loop(self) -> None:
        while not self._stop.wait(self.next_beat()):
            reason = self.beat()
            if reason:
                self.lost = reason
                if self.on_lost is not None:
                    self.on_lost(self)
                return

    def beat(self) -> str | None:
        """Renew once; the reason the lease is lost (a read proved it), or None. A failed call is
        never a loss: throttling, a 5xx, an outage, even an expired token are retried."""
        sent = self.clock()
        try:
            records = self.beats.read(self.path)
            top, mine = head(records), next((r for r in records if r.generation == self.generation), None)
            if top is not None and top.generation > self.generation:
                self.holder = None if top.released else top
                now_held = "and released it since: nobody holds it now" if top.released else "and holds it now"
                return f"{top.owner} took the lease of {self.service} over ({top.command}) {now_held}"
            if mine is None or mine.token != self.claim.token:
                if mine is not None and not mine.released:
                    self.holder = mine
                    return f"the lease of {self.service} ({self.name}) was overwritten by {mine.owner} ({mine.command}), who holds it now"
                return f"the lease of {self.service} ({self.name}) was removed or released by someone else: nobody holds it now"
            self.beats.overwrite(self.name, self.claim.value())
            self.renewed_at = sent
            if self.failures:
                self.console.info(f"{self.service}: renewed the lease again after {self.failures} failed attempt(s)")
            self.failures, self.warned_expiry = 0, False
        except DeployerError as exc:
            self.failures += 1
            if self.failures == 1:
                self.console.warn(f"{self.service}: could not renew the lease (retrying): {exc.message}")
            else:
                self.console.debug(f"{self.service}: could not renew the lease (attempt {self.failures}): {exc.message}")
            quiet = self.clock() - self.renewed_at
            if quiet >= self.claim.ttl and not self.warned_expiry:
                self.warned_expiry = True
                self.console.warn(
                    f"{self.service}: the lease was not renewed for {quiet:.0f}s (ttl {self.claim.ttl}s): another release may take it over; "
                    "carrying on, and stopping if a read shows one did"
                )
        return None

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)

    def release(self) -> None:
        """Mark our generation released: one call. Older generations went when we took the lease;
        had someone taken ours over since, marking ours (below the new head) changes nothing."""
        self.stop()
        if self.lost:
            return
        try:
            self.store.overwrite(self.name, self.claim.value(released=True))
        except DeployerError as exc:
            self.console.warn(f"{self.service}: could not release the lease ({exc.message}); it frees itself {self.claim.ttl}s after its last heartbeat")
            return
        self.console.debug(f"released the lease {self.name}")


def acquire(store: LeaseStore, cluster: str, service: str, claim: Claim, console, *, wait: float | None) -> Lease:
    """Take the lease of one service, or raise LeaseHeld (wait=None: at once; else after `wait` seconds)."""
    path = lease_path(cluster, service)
    started = time.monotonic()
    last_said: tuple[str, float] | None = None
    watcher = Watcher()
    while True:
        records = store.read(path)
        top = head(records)
        stale = staleness(top, watcher, claim.ttl)
        if stale is not None:
            generation = top.generation + 1 if top else 1
            name = generation_name(path, generation)
            sent = time.monotonic()
            if store.create(name, claim.value()):
                try:
                    ours = _is_head(store, path, generation, claim.token)
                except BaseException:
                    _give_back(store, name, claim)  # never leave a live generation nobody will release
                    raise
                if ours:
                    if top is not None and not top.released:
                        console.warn(
                            f"{service}: took over the lease from {top.owner} ({top.command}): {stale} "
                            "(its holder stopped without releasing it)"
                        )
                    _clean_up(store, [r for r in records if r.generation < generation], console)
                    console.debug(f"took the lease {name}")
                    return Lease(store, service, path, generation, claim, console, renewed_at=sent)
                store.delete(name)  # created below the real lease by a stale read: not ours
            continue  # another release got there first: read again
        waited = time.monotonic() - started
        if wait is None:
            raise LeaseHeld(
                f"{service}: another release holds the lease of the service: {top.describe()}; nothing was changed",
                hint=f"wait for it with --wait-for-lock; a holder that died frees the lease {top.ttl_or(claim.ttl)}s after its last heartbeat (by SSM's clock)",
            )
        if waited >= wait:
            raise LeaseHeld(
                f"{service}: still held after waiting {int(waited)}s (--lock-timeout {int(wait)}): {top.describe()}; nothing was changed",
                hint="try again later, or raise --lock-timeout",
            )
        if last_said is None or last_said[0] != top.token or waited - last_said[1] >= PROGRESS_SECONDS:
            console.info(f"{service}: waiting for the lease held by {top.describe()} ({int(waited)}s so far, up to {int(wait)}s)")
            last_said = (top.token, waited)
        time.sleep(min(POLL_SECONDS * random.uniform(0.75, 1.25), max(0.1, wait - waited)))


def _give_back(store: LeaseStore, name: str, claim: Claim) -> None:
    try:
        store.overwrite(name, claim.value(released=True))
    except DeployerError:
        pass  # it expires within the ttl


def _clean_up(store: LeaseStore, older: list[Record], console) -> None:
    """Older generations are only clutter once ours is the head: a failure to delete them is a warning."""
    for record in older:
        try:
            store.delete(record.name)
        except DeployerError as exc:
            console.warn(f"could not delete the old lease generation {record.name} (harmless; it stays): {exc.message}")
            return


def _is_head(store: LeaseStore, path: str, generation: int, token: str) -> bool:
    records = store.read(path)
    top = head(records)
    return top is not None and top.generation == generation and top.token == token


def wait_seconds(run) -> int | None:
    """How long to wait for a held lease: None = not at all (exit 1 at once).

    --lock-timeout alone means waiting too; --wait-for-lock without it waits long enough for
    another release and its rollback.
    """
    if run.options.lock_timeout is not None:
        return run.options.lock_timeout
    return 2 * run.timeout + run.config.deploy.lock_ttl if run.options.wait_for_lock else None


@contextlib.contextmanager
def held(run, services: list[str], command: str) -> Iterator[list[Lease]]:
    """Hold the lease of each named service for the block (no-op with --dry-run or --no-lock).

    Services are taken in name order, so two multi-service releases waiting for each other's
    services cannot deadlock. A lost lease interrupts the main thread with LeaseLost.
    """
    options = run.options
    if options.dry_run or not services:
        yield []
        return
    if options.no_lock:
        run.console.warn("--no-lock: not taking the lease; another release of " + ", ".join(services) + " may run at the same time")
        yield []
        return
    claim = Claim(owner=whoami(), command=command, ttl=run.config.deploy.lock_ttl, token=uuid.uuid4().hex, started_at=now())
    wait = wait_seconds(run)
    store = LeaseStore(run.aws)
    cluster = run.environment.cluster
    leases: list[Lease] = []
    guard = _InterruptOnLoss()

    def retake(lost: Lease) -> Lease | None:
        again = Claim(owner=claim.owner, command=claim.command, ttl=claim.ttl, token=uuid.uuid4().hex, started_at=now())
        try:
            lease = acquire(store, cluster, lost.service, again, run.console, wait=None)
        except LeaseHeld:
            return None
        lease.on_lost = guard.lost
        leases.append(lease.start())
        return lease

    guard.retake = retake
    try:
        for service in sorted(set(services)):
            try:
                lease = acquire(store, cluster, service, claim, run.console, wait=wait)
            except ExternalError as exc:
                if "AccessDenied" in exc.message:
                    exc.hint = "the role needs the lease's SSM permissions (statement ReleaseLease of `deployer iam-policy --for release`, or `--for operate` for scale and restart); --no-lock skips the lease"
                raise
            lease.on_lost = guard.lost
            leases.append(lease.start())
        yield leases
    finally:
        guard.done()
        for lease in leases:
            lease.release()


class _InterruptOnLoss:
    """Turn a lost lease (seen by a heartbeat thread) into LeaseLost raised in the main thread.

    A signal wakes the main thread wherever it waits (a poll's sleep, a socket read); its handler
    raises LeaseLost, which ends the command before its next write. Only in the main thread.
    A caller that handles the loss (pipeline.deploy: roll back what this run started) acknowledges it.
    """

    SIGNAL = getattr(signal, "SIGUSR1", None)

    def __init__(self):
        self.installed = threading.current_thread() is threading.main_thread() and self.SIGNAL is not None
        self.active = self.installed
        self.pending: Lease | None = None  # the lost lease whose LeaseLost is not acknowledged yet
        self.retake = None
        self.previous = signal.signal(self.SIGNAL, self._handler) if self.installed else None

    def _handler(self, signum, frame):
        lease = self.pending
        if self.active and lease is not None:
            who = (f"{lease.holder.owner} ({lease.holder.command}) holds it now" if lease.holder is not None else "nobody holds it now")
            raise LeaseLost(
                f"lost the lease: {lease.lost}; stopped before the next write",
                hint=f"{who}; `deployer status` shows where the service stands",
                lease=lease, holder=lease.holder, acknowledge=lambda: self._acknowledge(lease),
                retake=(lambda: self.retake(lease)) if self.retake is not None else None,
            )

    def _acknowledge(self, lease: Lease) -> None:
        if self.pending is lease:
            self.pending = None

    def lost(self, lease: Lease) -> None:
        """In the heartbeat thread: signal the main thread until the loss is acknowledged or the lease's
        block has ended (again each second: code that catches every exception, like a diagnosis, may swallow one)."""
        lease.console.error(f"{lease.service}: {lease.lost}")
        self.pending = lease
        while self.active and self.pending is lease:
            signal.pthread_kill(threading.main_thread().ident, self.SIGNAL)
            time.sleep(1.0)

    def done(self) -> None:
        self.active = False
        if self.installed:
            self.installed = False
            # Not SIG_DFL (it ends the process): a last signal from the heartbeat thread may be on its way.
            signal.signal(self.SIGNAL, self.previous if callable(self.previous) else signal.SIG_IGN)


def leased(run, services: list[str] | None, command: str, action):
    """action() run while holding the lease of the selected services (or all in the config)."""
    with held(run, [svc.name for svc in run.services(services)], command):
        return action()


# What the lease needs in IAM (`deployer iam-policy`): the path of each service's lease and its generations.
LEASE_ACTIONS = ["ssm:DeleteParameter", "ssm:GetParametersByPath", "ssm:PutParameter"]


def policy_resources(partition: str, region: str, account: str, cluster: str, services: list[str]) -> list[str]:
    resources = []
    for service in services:
        path = lease_path(cluster, service)
        resources += [f"arn:{partition}:ssm:{region}:{account}:parameter{path}", f"arn:{partition}:ssm:{region}:{account}:parameter{path}/*"]
    return resources
