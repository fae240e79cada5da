#!/usr/bin/env python3
"""A stand-in for the firecracker binary, for the launch tests on hosts where
Firecracker cannot run (no binary, no hardware KVM). It takes Firecracker's
command line, serves the HTTP API on --api-sock as Firecracker does (204, or
400 with {"fault_message": ...}), requires --log-path to exist, writes a line
of "guest console" to stdout, and after InstanceStart serves hybrid vsock on
the configured uds_path: "CONNECT <port>\\n" -> "OK <n>\\n" and then the bytes
b"AGENT". It is no substitute for the real boot test (boot_test.cpp).

Environment: STANDIN_RECORD=file appends each request as a JSON line;
STANDIN_FAIL=/path answers that endpoint 400; STANDIN_EXIT=1 exits at once;
STANDIN_REFUSE_VSOCK=n closes the first n vsock connections (no guest
listener yet).
"""

import json
import os
import socket
import sys
import threading


def arg(name):
    argv = sys.argv[1:]
    return argv[argv.index(name) + 1] if name in argv else None


def serve_vsock(path):
    refuse = int(os.environ.get("STANDIN_REFUSE_VSOCK", "0"))
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(8)
    while True:
        conn, _ = srv.accept()
        line = b""
        while not line.endswith(b"\n"):
            chunk = conn.recv(1)
            if not chunk:
                break
            line += chunk
        if refuse > 0 or not line.startswith(b"CONNECT "):
            refuse -= 1
            conn.close()
            continue
        conn.sendall(b"OK 1073741824\n" + b"AGENT")
        threading.Thread(target=lambda c=conn: c.recv(1), daemon=True).start()


def handle(conn, state):
    buf = b""
    while True:
        while b"\r\n\r\n" not in buf:
            chunk = conn.recv(65536)
            if not chunk:
                return
            buf += chunk
        head, buf = buf.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {h.split(":", 1)[0].lower(): h.split(":", 1)[1].strip() for h in lines[1:]}
        length = int(headers.get("content-length", "0"))
        while len(buf) < length:
            buf += conn.recv(65536)
        body, buf = buf[:length], buf[length:]
        record = os.environ.get("STANDIN_RECORD")
        if record:
            with open(record, "a", encoding="utf-8") as f:
                f.write(json.dumps({"method": method, "path": path, "body": body.decode()}) + "\n")
        if path == os.environ.get("STANDIN_FAIL"):
            state["log"].write(f"stand-in: refusing {method} {path}\n")
            state["log"].flush()
            fault = json.dumps({"fault_message": f"stand-in refuses {path}"}).encode()
            conn.sendall(b"HTTP/1.1 400 \r\nContent-Type: application/json\r\nContent-Length: "
                         + str(len(fault)).encode() + b"\r\n\r\n" + fault)
            continue
        data = json.loads(body) if body else {}
        if path == "/vsock":
            state["vsock"] = data["uds_path"]
        if path == "/actions" and data.get("action_type") == "InstanceStart":
            threading.Thread(target=serve_vsock, args=(state["vsock"],), daemon=True).start()
            print("stand-in guest console: booted", flush=True)
        conn.sendall(b"HTTP/1.1 204 \r\n\r\n")


def main():
    if os.environ.get("STANDIN_EXIT"):
        print("stand-in: exiting before the API socket", file=sys.stderr)
        return 1
    api, log_path = arg("--api-sock"), arg("--log-path")
    state = {"log": open(log_path, "r+", encoding="utf-8"), "vsock": None}  # must exist
    state["log"].write(f"stand-in firecracker {' '.join(sys.argv[1:])}\n")
    state["log"].flush()
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(api)
    srv.listen(8)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=handle, args=(conn, state), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
