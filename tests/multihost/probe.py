"""Run inside the second host's namespaces (``nsenter`` into a worker's): what it can reach, with and
without the passwords, and which of the web host's folders it can see. Prints one JSON object.

Input (environment): PROBE_TCP (JSON {label: [host, port]}), PROBE_REDIS (host, port, password),
PROBE_PG (a URL with the password), PROBE_S3 (endpoint, bucket, key id, secret), PROBE_PATHS (JSON list).
"""

from __future__ import annotations

import errno
import json
import os
import socket


def tcp(host: str, port: int) -> str:
    try:
        with socket.create_connection((host, port), timeout=2):
            return "open"
    except ConnectionRefusedError:
        return "refused"
    except TimeoutError:
        return "timeout"
    except OSError as exc:
        return "unreachable" if exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH) else f"error {exc.errno}"


def redis_reply(host: str, port: int, password: str | None) -> str:
    with socket.create_connection((host, port), timeout=5) as sock:
        if password is not None:
            sock.sendall(f"AUTH {password}\r\n".encode())
            sock.recv(256)
        sock.sendall(b"PING\r\n")
        return sock.recv(256).decode().split()[0]


def postgres(url: str) -> str:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            return f"ok {conn.execute('SELECT 1').fetchone()[0]}"
    except psycopg.OperationalError as exc:
        return "refused: " + ("password" if "password authentication failed" in str(exc) else str(exc)[:200])


def s3(endpoint: str, bucket: str, key_id: str, secret: str) -> str:
    import boto3
    from botocore.exceptions import ClientError

    client = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key_id, aws_secret_access_key=secret
    )
    try:
        client.list_objects_v2(Bucket=bucket)
        return "ok"
    except ClientError as exc:
        return exc.response["Error"]["Code"]


def main() -> None:
    out: dict = {"tcp": {k: tcp(h, p) for k, (h, p) in json.loads(os.environ["PROBE_TCP"]).items()}}
    host, port, password = json.loads(os.environ["PROBE_REDIS"])
    out["redis"] = {"no password": redis_reply(host, port, None), "password": redis_reply(host, port, password)}
    url = os.environ["PROBE_PG"]
    user, rest = url.split("://", 1)[1].split("@", 1)
    out["postgres"] = {
        "wrong password": postgres(url.replace(user, user.split(":")[0] + ":wrong", 1)),
        "password": postgres(url),
    }
    endpoint, bucket, key_id, secret = json.loads(os.environ["PROBE_S3"])
    out["s3"] = {
        "wrong secret": s3(endpoint, bucket, key_id, secret + "x"),
        "key": s3(endpoint, bucket, key_id, secret),
    }
    out["paths"] = {p: os.path.exists(p) for p in json.loads(os.environ["PROBE_PATHS"])}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
