"""Delivery of the outbox to the backend: one thread, strict FIFO, signed, idempotent.

It delivers both kinds of outbox row: requests to ``POST /v1/requests`` and help alerts to
``POST /v1/alerts`` (alerts first; kiosk/queue/alerts.py), with the same signing, answers and backoff.

:class:`HttpSender` makes one signed attempt and classifies the answer; :class:`DeliveryWorker`
is the thread that loops head → send → record, sleeping with exponential backoff and full jitter
(capped, honouring ``Retry-After`` up to the same cap) while the backend is down, and waking at
once on :meth:`DeliveryWorker.wake` (called after each submission). Answers:

    201 / 200        acknowledged (the backend's receipt stored, the body purged)
    3xx              dead-lettered, never followed: ``requests`` would resend the body to wherever
                     ``Location`` points (https -> http on a 307/308), so a redirect is a refusal
    409, 429, 5xx    retried (409: the backend is still processing that id)
    401 / 403        retried with backoff: a wrong key or a skewed clock is the kiosk's fault, not the
                     request's, so dead-lettering would throw away every request behind it too
    other 4xx        dead-lettered with the answer kept for the technician
    network / TLS    retried

Queue depth and the oldest pending age are published through ``on_status`` for the technicians'
banner; residents never see delivery errors.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Literal, Protocol, TypedDict
from urllib.parse import urlsplit

import requests

from contract.signing import SigningKey
from kiosk.config.keyfile import load_secret
from kiosk.config.model import KioskConfig
from kiosk.errors import ConfigError, ConfigProblem
from kiosk.queue.outbox import Outbox
from kiosk.queue.retention import Retention, apply_retention
from kiosk.queue.rows import ALERT, PendingRequest, QueueStatus

log = logging.getLogger(__name__)

Post = Callable[[Callable[[], None]], None]
Verdict = Literal["ack", "retry", "dead"]

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class Outcome:
    """The result of one attempt."""

    verdict: Verdict
    http_status: int  # 0 when there was no HTTP answer
    text: str  # the receipt (ack), the answer (dead) or the error (retry)
    retry_after_s: float | None = None


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter: uniform(0, min(cap, base * 2**attempts))."""

    base_s: float = 0.5
    cap_s: float = 300.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempts: int, retry_after_s: float | None = None) -> float:
        """Seconds to wait before the next attempt. ``Retry-After`` is a floor but never above
        ``cap_s``: one answer with a huge value must not park the queue for days (across restarts,
        as the next attempt's time is stored)."""
        ceiling = min(self.cap_s, self.base_s * (2 ** min(attempts, 30)))
        jittered = self.rng.uniform(0, ceiling)
        if retry_after_s is not None:
            return min(max(jittered, retry_after_s), self.cap_s)
        return jittered


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds or an HTTP date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def check_url(base_url: str) -> None:
    """ConfigError unless ``base_url`` is https, or http to the loopback address."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigError([ConfigProblem("", "backend.url", f"not an http(s) URL: {base_url!r}")])
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        raise ConfigError([ConfigProblem("", "backend.url", "plain http is only allowed to 127.0.0.1")])


def secure_session(
    ca_file: str | None = None, client_cert: tuple[str, str] | None = None
) -> requests.Session:
    """A requests session that always verifies TLS and ignores proxy variables and netrc."""
    session = requests.Session()
    session.trust_env = False
    session.verify = ca_file or True
    if client_cert:
        session.cert = client_cert
    return session


class HttpSender:
    """Signed HTTP delivery of envelopes to ``<base_url>/v1/requests`` and of help alerts to
    ``<base_url>/v1/alerts``.

    TLS is always verified: ``ca_file`` when given, else the system store; ``trust_env`` is off so
    proxy variables and netrc cannot redirect or weaken it. Plain ``http://`` is refused except to
    the loopback address (the local reference backend).
    """

    def __init__(
        self,
        base_url: str,
        key: SigningKey,
        *,
        ca_file: str | None = None,
        client_cert: tuple[str, str] | None = None,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 15.0,
    ) -> None:
        check_url(base_url)
        self.url = base_url.rstrip("/") + "/v1/requests"
        self.path = urlsplit(self.url).path
        self.alert_url = base_url.rstrip("/") + "/v1/alerts"
        self.alert_path = urlsplit(self.alert_url).path
        self.key = key
        self.timeout = (connect_timeout_s, read_timeout_s)
        self.session = secure_session(ca_file, client_cert)

    def close(self) -> None:
        self.session.close()

    def send(self, item: PendingRequest) -> Outcome:
        url, path = (self.alert_url, self.alert_path) if item.kind == ALERT else (self.url, self.path)
        headers = self.key.sign("POST", path, item.body)
        headers["Content-Type"] = "application/json"
        headers["Idempotency-Key"] = item.request_id
        try:
            resp = self.session.post(
                url, data=item.body, headers=headers, timeout=self.timeout, allow_redirects=False
            )
        except requests.exceptions.SSLError as exc:
            return Outcome("retry", 0, f"TLS failure: {exc}")
        except requests.exceptions.Timeout:
            return Outcome("retry", 0, "backend timed out")
        except requests.exceptions.RequestException as exc:
            return Outcome("retry", 0, f"backend unreachable: {type(exc).__name__}")
        answer = resp.headers
        return classify(resp.status_code, resp.text, answer.get("Retry-After"), answer.get("Location"))


def redirect_refused(location: str | None) -> str:
    """The cause recorded for a redirect (delivery's dead letter, a look-up's BackendRejected)."""
    return f"backend redirected to {(location or '(no Location)')[:300]}; redirects are refused"


def classify(status: int, text: str, retry_after: str | None = None, location: str | None = None) -> Outcome:
    """Map an HTTP answer to ack / retry / dead (see the module docstring)."""
    if status in (200, 201):
        return Outcome("ack", status, text)
    if 300 <= status < 400:
        return Outcome("dead", status, redirect_refused(location))
    if status in (401, 403):
        return Outcome("retry", status, f"HTTP {status} (key or clock refused): {text[:200]}")
    if status == 409 or status == 429 or status >= 500:
        return Outcome("retry", status, f"HTTP {status}", parse_retry_after(retry_after))
    if 400 <= status < 500:
        return Outcome("dead", status, text)
    return Outcome("retry", status, f"unexpected HTTP {status}")


class Sender(Protocol):
    """The seam the worker uses (HttpSender, or a fake in tests)."""

    def send(self, item: PendingRequest) -> Outcome: ...


def deliver_one(outbox: Outbox, sender: Sender, backoff: Backoff, now: float) -> float | None:
    """Try the head of the queue once if it is due. Returns seconds until something is due
    (0 to go on at once), or None when the queue is empty."""
    item = outbox.head()
    if item is None:
        return None
    # a time beyond the cap (an older version's uncapped Retry-After, a clock set back) is due now
    if now < item.next_attempt_ts <= now + backoff.cap_s:
        return item.next_attempt_ts - now
    outcome = sender.send(item)
    if outcome.verdict == "ack":
        outbox.acknowledge(item.request_id, outcome.http_status, outcome.text)
        if item.kind == ALERT:
            log.info("help alert %s delivered", item.request_id)
    elif outcome.verdict == "dead":
        log.warning("%s seq %d dead-lettered: HTTP %d", item.kind, item.sequence, outcome.http_status)
        outbox.dead_letter(item.request_id, outcome.http_status, outcome.text)
    else:
        delay = backoff.delay(item.attempts, outcome.retry_after_s)
        log.info("%s seq %d: %s; next try in %.1f s", item.kind, item.sequence, outcome.text, delay)
        outbox.defer(item.request_id, time.time() + delay, outcome.text)
        return delay
    return 0.0


def deliver_until_empty(
    outbox: Outbox, sender: Sender, *, backoff: Backoff | None = None, timeout_s: float | None = None
) -> int:
    """Deliver in the calling thread until nothing is pending (``queue deliver --until-empty``),
    retrying with backoff; gives up when ``timeout_s`` (if given) has passed. Returns the number of
    requests settled (acknowledged or dead-lettered)."""
    backoff = backoff or Backoff()
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    settled = 0
    while True:
        wait = deliver_one(outbox, sender, backoff, time.time())
        if wait is None:
            return settled
        if wait == 0.0:
            settled += 1
            continue
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                return settled
            wait = min(wait, left)
        time.sleep(wait)


class DeliveryWorker:
    """The delivery thread. ``start()``/``stop()``; ``wake()`` after each submission.

    ``on_status`` receives a :class:`QueueStatus` through ``post`` (the app's UI-thread scheduler)
    after every change and every ``status_every_s``; :meth:`status` may also be polled.
    """

    def __init__(
        self,
        outbox: Outbox,
        sender: Sender,
        *,
        post: Post | None = None,
        on_status: Callable[[QueueStatus], None] | None = None,
        backoff: Backoff | None = None,
        status_every_s: float = 10.0,
        keep_acknowledged_s: float = 0.0,
        keep_dead_s: float = 0.0,
        prune_every_s: float = 3600.0,
    ) -> None:
        self.outbox = outbox
        self.sender = sender
        self.backoff = backoff or Backoff()
        self._post = post or (lambda fn: fn())
        self._on_status = on_status
        self._status_every_s = status_every_s
        # 0: keep acknowledged rows (dead letters' bodies) forever (kiosk/queue/retention.py)
        self.retention = Retention(keep_acknowledged_s, keep_dead_s)
        self._prune_every_s = prune_every_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="delivery", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop after the attempt in flight (bounded by the HTTP timeouts)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def wake(self) -> None:
        """A new submission: try now instead of waiting out an idle sleep (not a backoff)."""
        self._wake.set()

    def status(self) -> QueueStatus:
        return self.outbox.status()

    def _publish(self) -> None:
        if self._on_status is None:
            return
        try:
            snapshot = self.outbox.status()
        except Exception:  # storage trouble is reported by the submit path; keep delivering
            log.exception("queue status unavailable")
            return
        callback = self._on_status
        self._post(lambda: callback(snapshot))

    def prune(self, now: float | None = None) -> int:
        """Delete acknowledged rows older than their retention and purge the bodies of dead letters
        older than theirs (kiosk/queue/retention.py). Returns how many acknowledged rows went."""
        pruned = apply_retention(self.outbox, self.retention, time.time() if now is None else now)
        return pruned.acknowledged

    def _run(self) -> None:
        last_publish = 0.0
        last_prune = -float("inf")  # prune once at start, then every prune_every_s
        while not self._stop.is_set():
            if time.monotonic() - last_prune >= self._prune_every_s:
                last_prune = time.monotonic()
                try:
                    self.prune()
                except Exception:  # retention is housekeeping: never stop delivery for it
                    log.exception("outbox retention failed")
            try:
                wait = deliver_one(self.outbox, self.sender, self.backoff, time.time())
            except Exception:
                # a storage error or a bug must not kill delivery for good: log, back off, go on
                log.exception("delivery attempt failed")
                wait = 5.0
            now = time.monotonic()
            if wait != 0.0 or now - last_publish >= self._status_every_s:
                self._publish()
                last_publish = now
            if wait == 0.0:
                continue
            timeout = self._status_every_s if wait is None else min(wait, self._status_every_s)
            # a wake-up during a backoff re-checks the head, whose next_attempt_ts still stands
            self._wake.wait(timeout)
            self._wake.clear()


# -- wiring from the configuration (used by the app and kiosk-tech) ------------------------------


def open_outbox(config: KioskConfig) -> Outbox:
    """The kiosk's outbox as configured (StorageError when damaged or unusable)."""
    path = config.resolve(config.outbox.path) if config.outbox.path else config.data_dir / "outbox.db"
    return Outbox(
        path,
        config.kiosk.id,
        min_free_bytes=config.outbox.min_free_mb * 1_000_000,
        kiosk_number=config.kiosk.acceptance_kiosk_number,
    )


def signing_key(config: KioskConfig) -> SigningKey:
    """The kiosk's HMAC key; ConfigError when ``backend.secret_file`` is unset or unreadable."""
    if not config.backend.secret_file:
        raise ConfigError(
            [
                ConfigProblem(
                    config.source,
                    "backend.secret_file",
                    "no key file configured (`kiosk-tech config init` makes one)",
                )
            ]
        )
    secret = load_secret(config.resolve(config.backend.secret_file))
    return SigningKey(config.backend.key_id or config.kiosk.id, secret)


class HttpOptions(TypedDict):
    """TLS and timeouts of every exchange with the backend: delivery, look-ups, heartbeat, alerts."""

    ca_file: str | None
    client_cert: tuple[str, str] | None
    connect_timeout_s: float
    read_timeout_s: float


def http_options(config: KioskConfig) -> HttpOptions:
    """The configured CA pin, client certificate and timeouts, paths resolved against the site file."""
    b = config.backend
    cert = None
    if b.client_cert:
        cert = (str(config.resolve(b.client_cert)), str(config.resolve(b.client_key or b.client_cert)))
    return HttpOptions(
        ca_file=str(config.resolve(b.ca_file)) if b.ca_file else None,
        client_cert=cert,
        connect_timeout_s=b.connect_timeout_s,
        read_timeout_s=b.timeout_s,
    )


def sender_from_config(config: KioskConfig, url: str | None = None) -> HttpSender:
    """An HttpSender for ``url`` (default ``backend.url``) with the configured TLS and timeouts."""
    return HttpSender(url or config.backend.url, signing_key(config), **http_options(config))


def backoff_from_config(config: KioskConfig) -> Backoff:
    return Backoff(base_s=config.backend.retry_base_s, cap_s=config.backend.retry_cap_s)
