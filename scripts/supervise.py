#!/usr/bin/env python
"""Keep the stack's processes running: one that exits is started again, the others keep serving.

Usage: python scripts/supervise.py -- NAME CMD [ARG ...] [-- NAME CMD [ARG ...]] ...

Each process runs in a process group of its own, its output prefixed with [NAME]. When one exits (a
crash, the kernel's out-of-memory killer), what is left of its group (a Celery worker's pool processes)
is killed and it is started again after a pause that doubles from 1 s up to 30 s, and starts again
from 1 s once it has run for a minute. SIGINT, SIGTERM or SIGHUP stops them all (TERM to each group,
KILL after a grace period; a second Ctrl-C kills at once) and the supervisor exits.

A single thread and ``select`` on the children's pipes: no thread can hold a lock while a child forks,
so each child can safely ask the kernel (PR_SET_PDEATHSIG) to stop it should the supervisor die.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import selectors
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

FIRST_DELAY, MAX_DELAY, STABLE_SECONDS = 1.0, 30.0, 60.0
GRACE_SECONDS = 20.0  # for a Celery warm shutdown (running tasks finish or are redelivered)
_PR_SET_PDEATHSIG = 1
try:
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):  # not Linux: children just outlive a killed supervisor
    _prctl = None


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the supervisor dies (even by SIGKILL)."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def say(name: str, message: str) -> None:
    sys.stdout.write(f"\033[1m[{name}]\033[0m {message}\n")
    sys.stdout.flush()


@dataclass
class Child:
    name: str
    cmd: list[str]
    proc: subprocess.Popen | None = None
    started: float = 0.0
    restart_at: float | None = None  # set while it waits to be started again
    delay: float = FIRST_DELAY  # the next pause before a restart
    partial: bytes = field(default=b"")

    def start(self, selector: selectors.BaseSelector) -> None:
        self.started, self.restart_at = time.monotonic(), None
        try:
            self.proc = subprocess.Popen(
                self.cmd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: a terminal's Ctrl-C reaches the supervisor only
                preexec_fn=_die_with_parent,
            )
        except OSError as exc:  # e.g. the program is missing: try again later, like a crash
            say("run", f"{self.name} could not start ({exc})")
            self.proc = None
            self.exited(time.monotonic())
            return
        os.set_blocking(self.proc.stdout.fileno(), False)
        selector.register(self.proc.stdout, selectors.EVENT_READ, self)

    def exited(self, now: float) -> None:
        """Schedule the next start: the pause doubles while it keeps dying, and resets once it ran a while."""
        if now - self.started >= STABLE_SECONDS:
            self.delay = FIRST_DELAY
        pause, self.delay = self.delay, min(self.delay * 2, MAX_DELAY)
        self.restart_at = now + pause
        if self.proc is not None:
            code, ran = self.proc.returncode, now - self.started
            how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
            say("run", f"{self.name} {how} after {ran:.0f} s; starting it again in {pause:.0f} s")

    def pump(self, selector: selectors.BaseSelector) -> bool:
        """Copy what the child wrote, line by line with its prefix; False at the end of its output."""
        try:
            data = os.read(self.proc.stdout.fileno(), 65536)
        except BlockingIOError:
            return True
        if not data:
            self.close(selector)
            return False
        *lines, self.partial = (self.partial + data).split(b"\n")
        for line in lines:
            self.write(line)
        return True

    def drain(self, selector: selectors.BaseSelector, seconds: float = 1.0) -> None:
        """The last lines of a child that exited (its group is dead, so the pipe ends soon)."""
        deadline = time.monotonic() + seconds
        while not self.proc.stdout.closed and time.monotonic() < deadline:
            if self.pump(selector):
                time.sleep(0.02)
        self.close(selector)

    def close(self, selector: selectors.BaseSelector) -> None:
        if self.proc is None or self.proc.stdout.closed:
            return
        if self.partial:
            self.write(self.partial)
            self.partial = b""
        selector.unregister(self.proc.stdout)
        self.proc.stdout.close()

    def write(self, line: bytes) -> None:
        sys.stdout.buffer.write(f"[{self.name}] ".encode() + line + b"\n")
        sys.stdout.buffer.flush()

    def running(self) -> bool:
        return self.restart_at is None and self.proc is not None and self.proc.poll() is None

    def signal_group(self, signum: int) -> None:
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signum)


def parse(argv: list[str]) -> list[Child]:
    children: list[Child] = []
    for word in argv:
        if word == "--":
            children.append(Child(name="", cmd=[]))
        elif not children:
            break
        elif not children[-1].name:
            children[-1].name = word
        else:
            children[-1].cmd.append(word)
    if not children or any(not c.cmd for c in children):
        raise SystemExit(__doc__.split("\n\n")[1])
    return children


def run(children: list[Child]) -> int:
    selector = selectors.DefaultSelector()
    stops: list[int] = []

    def on_signal(signum, frame) -> None:
        stops.append(signum)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)
    for child in children:
        child.start(selector)

    while not stops:
        for key, _ in selector.select(timeout=0.2):
            key.data.pump(selector)
        now = time.monotonic()
        for child in children:
            if stops:
                break
            if child.restart_at is not None:
                if now >= child.restart_at:
                    say("run", f"starting {child.name} again")
                    child.start(selector)
            elif child.proc.poll() is not None:
                child.signal_group(signal.SIGKILL)  # leftovers of its group (pool processes) go with it
                child.drain(selector)
                child.exited(now)
    _stop_all(children, selector, stops)
    return 0


def _stop_all(children: list[Child], selector: selectors.BaseSelector, stops: list[int]) -> None:
    running = [c for c in children if c.running()]
    say("run", "stopping " + (", ".join(c.name for c in running) or "nothing"))
    for child in running:
        child.signal_group(signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS
    while any(c.proc.poll() is None for c in running) and time.monotonic() < deadline:
        if stops.count(signal.SIGINT) >= 2:  # a second Ctrl-C: no more waiting
            break
        for key, _ in selector.select(timeout=0.2):
            key.data.pump(selector)
    for child in running:
        child.signal_group(signal.SIGKILL)  # whatever is left, pool processes included
        child.proc.wait()
        child.drain(selector)


if __name__ == "__main__":
    sys.exit(run(parse(sys.argv[1:])))
