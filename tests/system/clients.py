#!/usr/bin/env python3
"""Clients the system test runs inside the container (so on the container's own loopback).

    clients.py free-ports N                      N free TCP ports on 127.0.0.1, one per line
    clients.py wait-port PORT [SECONDS]          until 127.0.0.1:PORT accepts
    clients.py http-get PORT PATH OUT            GET into the file OUT (status must be 200)
    clients.py ftp-retr PORT NAME OUT            anonymous RETR into the file OUT (ftplib)
    clients.py inetd-echo PORT                   one echo round trip
    clients.py journal-fields SERVICE...         every SERVICE has a journal entry of portd.service
                                                 with PORTD_SERVICE=SERVICE and REMOTE_ADDR
    clients.py journal-request SERVICE PATH      SERVICE's access log in the journal has the GET
                                                 of PATH with its HTTP_* fields (status 200)
    clients.py http-loop PORT PATH STOPFILE OUT  new connection per GET until STOPFILE exists
                                                 (at most 120 s); writes "ok failed" counts to OUT
Exit status 0 on success; a message on stderr otherwise.
"""
import ftplib
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import time


def free_ports(count):
    """Free ports in the registered range below Linux's ephemeral ports (32768-60999), where
    portd warns (49152-65535) and where clients' own ports could take them."""
    rng = random.SystemRandom()
    ports = []
    for _ in range(1000):
        if len(ports) == int(count):
            break
        port = rng.randrange(20000, 32768)
        if port in ports:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        ports.append(port)
    else:
        sys.exit("no free ports found")
    for port in ports:
        print(port)


def wait_port(port, seconds="20"):
    deadline = time.monotonic() + float(seconds)
    while True:
        try:
            socket.create_connection(("127.0.0.1", int(port)), timeout=2).close()
            return
        except OSError as e:
            if time.monotonic() > deadline:
                sys.exit(f"127.0.0.1:{port} does not accept: {e}")
            time.sleep(0.2)


def http_get(port, path, out):
    conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=10)
    conn.request("GET", path)
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    if resp.status != 200:
        sys.exit(f"GET {path} on port {port}: status {resp.status}")
    with open(out, "wb") as f:
        f.write(body)


def ftp_retr(port, name, out):
    with ftplib.FTP() as ftp:
        ftp.connect("127.0.0.1", int(port), timeout=10)
        ftp.login()  # anonymous
        with open(out, "wb") as f:
            ftp.retrbinary(f"RETR {name}", f.write)
        ftp.quit()


def inetd_echo(port):
    with socket.create_connection(("127.0.0.1", int(port)), timeout=5) as s:
        s.sendall(b"portd system test\n")
        got = b""
        while len(got) < 18:
            chunk = s.recv(100)
            if not chunk:
                break
            got += chunk
    if got != b"portd system test\n":
        sys.exit(f"echo on port {port} answered {got!r}")


def journal_entries(*matches):
    """portd.service's journal entries of this boot (journalctl MATCHES), parsed."""
    out = subprocess.run(["journalctl", "-u", "portd", "-o", "json", "--no-pager", "-b",
                          *matches], capture_output=True, text=True, check=True).stdout
    entries = []
    for line in out.splitlines():
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return entries


def poll_journal(found, *matches):
    """Calls found(entries) until it is true (at most 15 s); journald may lag a little."""
    deadline = time.monotonic() + 15
    while True:
        if found(journal_entries(*matches)):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)


def journal_fields(*services):
    missing = set(services)

    def found(entries):
        for entry in entries:
            if entry.get("REMOTE_ADDR") == "127.0.0.1":
                missing.discard(entry.get("PORTD_SERVICE"))
        return not missing

    if not poll_journal(found):
        sys.exit("no journal entry with PORTD_SERVICE and REMOTE_ADDR=127.0.0.1 for: "
                 + ", ".join(sorted(missing)))


def journal_request(service, path):
    want = {"HTTP_METHOD": "GET", "HTTP_TARGET": path, "HTTP_STATUS": "200",
            "REMOTE_ADDR": "127.0.0.1"}
    seen = []

    def found(entries):
        seen[:] = [{k: v for k, v in e.items() if k.startswith("HTTP_")} for e in entries]
        return any(all(e.get(k) == v for k, v in want.items()) and e.get("HTTP_BYTES")
                   for e in entries)

    if not poll_journal(found, "PORTD_SERVICE=" + service, "PORTD_EVENT=request"):
        sys.exit(f"no request record for GET {path} with HTTP_* fields; records seen: "
                 f"{seen[-5:]}")


def http_loop(port, path, stopfile, out):
    """Counts: ok, refused (the connection itself failed: what socket activation must
    prevent), dropped (connected and sent the request, then closed or reset without an
    answer), other (a wrong status or anything else)."""
    ok = refused = dropped = other = 0
    errors = []
    deadline = time.monotonic() + 120
    while not os.path.exists(stopfile) and time.monotonic() < deadline:
        conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=30)
        try:
            conn.connect()
        except OSError as e:
            refused += 1
            errors.append(f"connect: {e!r}")
            time.sleep(0.01)
            continue
        try:
            conn.request("GET", path, headers={"Connection": "close"})
            resp = conn.getresponse()
            resp.read()
            if resp.status == 200:
                ok += 1
            else:
                other += 1
                errors.append(f"status {resp.status}")
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as e:
            dropped += 1
            errors.append(f"after connect: {e!r}")
        except (OSError, http.client.HTTPException) as e:
            other += 1
            errors.append(repr(e))
        finally:
            conn.close()
        time.sleep(0.01)
    with open(out, "w") as f:
        f.write(f"{ok} {refused} {dropped} {other}\n")
        for e in errors[:20]:
            f.write(e + "\n")


COMMANDS = {"free-ports": free_ports, "wait-port": wait_port, "http-get": http_get,
            "ftp-retr": ftp_retr, "inetd-echo": inetd_echo, "journal-fields": journal_fields,
            "journal-request": journal_request, "http-loop": http_loop}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    try:
        COMMANDS[sys.argv[1]](*sys.argv[2:])
    except (OSError, ftplib.Error, http.client.HTTPException) as e:
        sys.exit(f"{sys.argv[1]}: {e!r}")
