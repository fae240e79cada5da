#!/usr/bin/env python3
"""Validates every request body the Firecracker backend can send against the
Firecracker API spec (Swagger 2.0 YAML), with each schema read from the spec
file at test time, never retyped.

  check_requests.py --spec firecracker-api-1.17.yaml --dump fc_request_dump
  check_requests.py --spec firecracker-api-1.17.yaml --self-test

Fails when a body is not JSON, does not match the schema of its path and
method's body parameter, or names an endpoint or method the spec lacks. The
spec's object schemas are made strict (additionalProperties: false) because
Firecracker rejects unknown fields (serde deny_unknown_fields) although the
spec does not say so. --self-test feeds the checker bodies that must fail, so
a checker that accepts everything cannot pass. Without the spec file it
prints "SKIPPED: <reason>" and exits 0 (ctest marks the test skipped).
"""

import argparse
import copy
import json
import os
import re
import subprocess
import sys

import jsonschema
import yaml


def strict(schema):
    """Returns schema with additionalProperties: false on every object that
    lists its properties and says nothing about extra ones."""
    s = copy.deepcopy(schema)

    def walk(node):
        if isinstance(node, dict):
            if "properties" in node and "additionalProperties" not in node:
                node["additionalProperties"] = False
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(s)
    return s


class Spec:
    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            self.doc = yaml.safe_load(f)
        if self.doc.get("swagger") != "2.0":
            raise ValueError(f"{path}: not a Swagger 2.0 document")
        self.version = self.doc.get("info", {}).get("version", "?")
        # "#/definitions/X" references resolve against the document itself.
        self.root = strict({"definitions": self.doc.get("definitions", {})})
        self.routes = []
        for template, item in self.doc.get("paths", {}).items():
            params = re.findall(r"\{([^}]+)\}", template)
            pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "([^/]+)", re.escape(template)) + "$"
            self.routes.append((template, re.compile(pattern), params, item))

    def route(self, path):
        for template, rx, params, item in self.routes:
            m = rx.match(path)
            if m:
                return template, dict(zip(params, m.groups())), item
        return None, None, None

    def check(self, method, path, body_text):
        """Returns a list of problems (empty when the request is valid)."""
        template, path_args, item = self.route(path)
        if template is None:
            return [f"{method} {path}: no such endpoint in the spec"]
        op = item.get(method.lower())
        if op is None:
            return [f"{method} {path}: the spec has no {method} for {template}"]
        body_params = [p for p in op.get("parameters", []) if p.get("in") == "body"]
        if not body_params:
            return [] if not body_text else [f"{method} {path}: the spec takes no body"]
        try:
            body = json.loads(body_text)
        except ValueError as e:
            return [f"{method} {path}: body is not JSON ({e}): {body_text!r}"]
        schema = dict(self.root)
        schema.update(strict(body_params[0]["schema"]))
        validator = jsonschema.Draft4Validator(schema)
        problems = [
            f"{method} {path}: {'/'.join(str(p) for p in e.absolute_path) or '(body)'}: "
            f"{e.message}"
            for e in validator.iter_errors(body)
        ]
        # Firecracker refuses a body whose id differs from the one in the path.
        for name, value in path_args.items():
            if isinstance(body, dict) and name in body and body[name] != value:
                problems.append(
                    f"{method} {path}: body {name}={body[name]!r} differs from the path's {value!r}"
                )
        return problems


def run_dump(spec, dump):
    out = subprocess.run([dump], check=False, capture_output=True, text=True)
    if out.returncode != 0:
        print(f"FAIL: {dump} exited {out.returncode}: {out.stderr}")
        return 1
    lines = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    if not lines:
        print(f"FAIL: {dump} printed no requests")
        return 1
    failures, endpoints = 0, set()
    for r in lines:
        problems = spec.check(r["method"], r["path"], r["body"])
        endpoints.add((r["method"], spec.route(r["path"])[0] or r["path"]))
        for p in problems:
            print(f"FAIL [{r['config']}]: {p}\n  body: {r['body']}")
        failures += len(problems)
    print(
        f"{len(lines)} requests checked against the Firecracker API {spec.version}; endpoints: "
        + ", ".join(f"{m} {p}" for m, p in sorted(endpoints))
    )
    return 1 if failures else 0


def self_test(spec):
    good = [
        ("PUT", "/machine-config", '{"vcpu_count": 2, "mem_size_mib": 512}'),
        ("PUT", "/actions", '{"action_type": "InstanceStart"}'),
        ("PATCH", "/vm", '{"state": "Paused"}'),
    ]
    bad = [
        ("PUT", "/machine-config", '{"vcpu_count": 2}'),  # mem_size_mib is required
        ("PUT", "/machine-config", '{"vcpu_count": 33, "mem_size_mib": 512}'),  # over 32
        ("PUT", "/machine-config", '{"vcpu_count": 2, "mem_size_mib": 512, "memory": 1}'),
        ("PUT", "/drives/rootfs", '{"drive_id": "other", "is_root_device": true}'),
        ("PUT", "/drives/rootfs", '{"drive_id": "rootfs", "is_root_device": "yes"}'),
        ("PUT", "/vsock", '{"guest_cid": 2, "uds_path": "/v.sock"}'),  # CIDs start at 3
        ("PUT", "/actions", '{"action_type": "Reboot"}'),
        ("PUT", "/no-such-endpoint", "{}"),
        ("POST", "/actions", '{"action_type": "InstanceStart"}'),
        ("PUT", "/boot-source", "not json"),
        ("PATCH", "/vm", '{"state": "Stopped"}'),  # Paused or Resumed only
        ("PUT", "/vm", '{"state": "Paused"}'),  # /vm is PATCH only
    ]
    failures = 0
    for m, p, b in good:
        for problem in spec.check(m, p, b):
            print(f"FAIL: a valid request was refused: {problem}")
            failures += 1
    for m, p, b in bad:
        if not spec.check(m, p, b):
            print(f"FAIL: an invalid request was accepted: {m} {p} {b}")
            failures += 1
    print(f"self-test: {len(good)} valid and {len(bad)} invalid requests classified")
    return 1 if failures else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", required=True)
    group = ap.add_mutually_exclusive_group(required=True)
    group.add_argument("--dump", help="the fc_request_dump binary")
    group.add_argument("--self-test", action="store_true")
    args = ap.parse_args()
    if not os.path.exists(args.spec):
        print(f"SKIPPED: the Firecracker API spec {args.spec} is not on this machine")
        return 0
    spec = Spec(args.spec)
    return self_test(spec) if args.self_test else run_dump(spec, args.dump)


if __name__ == "__main__":
    sys.exit(main())
