#!/usr/bin/env python3
"""Cross-checks the C++ profile loader against the JSON Schema.

For every profile in the corpus, two independent judges give a verdict:
  - python3-jsonschema with schemas/vm-profile.schema.json: every file of the
    extends chain is validated on its own, then the merged document;
  - the C++ loader, through the profile_check tool.
The test fails if they disagree on any file (or, for a valid one, on the
values read, defaults taken from the schema), if a file under --good is
refused, if a file under --bad is accepted, or if the C++ message of a bad
file does not contain what its first lines promise ("# expect: ...").

YAML is read the way the C++ loader reads it, which is what YAML 1.2 says:
the core schema (yes/on are strings; 0x1f and 0o17 are integers), no tags,
no duplicate keys, string keys only, one document, UTF-8 text. PyYAML alone
reads YAML 1.1, so ProfileLoader below narrows it.
"""

import argparse
import json
import os
import re
import subprocess
import sys

import jsonschema
import yaml

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 64
MAX_EXTENDS = 8


class Refused(Exception):
    pass


class ProfileLoader(yaml.SafeLoader):
    """PyYAML narrowed to YAML 1.2 core-schema plain data."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0
        self._open_anchors = set()

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self._open_anchors:
                raise Refused("alias into its own node")
            return super().compose_node(parent, index)
        if event.tag not in (None, "!"):
            raise Refused("YAML tag %s" % event.tag)
        nested = isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent))
        if not nested:
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise Refused("nested deeper than %d" % MAX_DEPTH)
        if event.anchor:
            self._open_anchors.add(event.anchor)
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1
            self._open_anchors.discard(event.anchor)


ProfileLoader.yaml_implicit_resolvers = {}
for _tag, _regexp in [
    ("null", r"^(?:~|null|Null|NULL|)\Z"),
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)\Z"),
    ("int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)\Z"),
    ("float", r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
              r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))\Z"),
]:
    ProfileLoader.add_implicit_resolver("tag:yaml.org,2002:" + _tag, re.compile(_regexp), None)


def _construct_int(loader, node):
    text = loader.construct_scalar(node)
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text, 10)


def _construct_float(loader, node):
    text = loader.construct_scalar(node)
    body = text.lstrip("+-")
    if body.lower() == ".inf":
        return float("-inf") if text.startswith("-") else float("inf")
    if body.lower() == ".nan":
        return float("nan")
    return float(text)


def _construct_map(loader, node):
    out = {}
    yield out
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            raise Refused("mapping key %r is not a string" % (key,))
        if key in out:
            raise Refused("duplicate key %r" % key)
        out[key] = loader.construct_object(value_node, deep=True)


ProfileLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
ProfileLoader.add_constructor("tag:yaml.org,2002:float", _construct_float)
ProfileLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)


def read_yaml(path):
    with open(path, "rb") as f:
        data = f.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise Refused("larger than 1 MiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise Refused("not UTF-8: %s" % e)
    # Line breaks in YAML 1.1 (PyYAML) but not in 1.2: refused by both sides.
    if re.search("[\x85\u2028\u2029]", text):
        raise Refused("NEL, LS or PS character")
    try:
        return yaml.load(text, Loader=ProfileLoader)
    except yaml.YAMLError as e:
        raise Refused("YAML: %s" % e)


def merge(base, child):
    """The extends rule: mappings merge key by key, anything else is replaced."""
    if not (isinstance(base, dict) and isinstance(child, dict)):
        return child
    out = dict(base)
    for key, value in child.items():
        out[key] = merge(base[key], value) if key in base else value
    return out


def schema_verdict(validator, path, chain=()):
    """Returns the merged document of path's extends chain, or raises Refused."""
    doc = read_yaml(path)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    if errors:
        e = errors[0]
        raise Refused("%s: %s: %s" % (path, "/".join(map(str, e.path)), e.message))
    real = os.path.realpath(path)
    if real in chain:
        raise Refused("extends cycle")
    if "extends" not in doc:
        return doc
    if len(chain) + 1 > MAX_EXTENDS:
        raise Refused("extends deeper than %d" % MAX_EXTENDS)
    target = os.path.join(os.path.dirname(os.path.abspath(path)), doc["extends"])
    if not os.path.isfile(target):
        raise Refused("extends: no file %s" % target)
    base = schema_verdict(validator, target, chain + (real,))
    merged = merge(base, doc)
    merged.pop("extends", None)
    errors = list(validator.iter_errors(merged))
    if errors:
        raise Refused("merged: %s" % errors[0].message)
    return merged


def cpp_verdict(checker, path):
    """(accepted, message, loaded profile as JSON or None)."""
    run = subprocess.run([checker, "--json", path], capture_output=True, text=True, timeout=60)
    if run.returncode not in (0, 1):
        raise SystemExit("%s crashed on %s (exit %d): %s" % (checker, path, run.returncode, run.stderr))
    if run.returncode == 1:
        return False, run.stdout.strip(), None
    return True, "OK", json.loads(run.stdout.split("\n", 1)[1])


def expected_values(schema, doc):
    """What the C++ loader should make of a valid merged document; absent
    fields take the schema's "default", which must agree with VmSpec's."""
    props = schema["properties"]
    port_props = schema["$defs"]["port"]["properties"]

    def get(section, key):
        value = doc.get(section, {}).get(key, props[section]["properties"][key].get("default"))
        return int(value) if isinstance(value, float) else value

    ports = []
    for p in doc.get("network", {}).get("ports", []):
        host = p.get("host", port_props["host"]["default"])
        ports.append({"guest": int(p["guest"]), "host": 0 if host == "auto" else int(host),
                      "host_addr": p.get("host_addr", port_props["host_addr"]["default"]),
                      "protocol": p.get("protocol", port_props["protocol"]["default"])})
    return {"name": doc["name"], "vm_id": doc.get("id", ""),
            "vcpu_count": get("resources", "vcpu_count"),
            "mem_size_mib": get("resources", "mem_size_mib"),
            "disk_mode": get("disk", "mode"), "disk_size_mib": get("disk", "size_mib") or 0,
            "boot_args": get("boot", "args") or "", "boot_timeout_s": get("boot", "timeout_s"),
            "vmm": get("backend", "vmm"), "executor": get("backend", "executor"),
            "network": get("backend", "network"), "accel": get("backend", "accel"),
            "ports": ports, "env": [[k, v] for k, v in doc.get("env", {}).items()],
            "setup": doc.get("setup", []), "snapshot": doc.get("snapshot", "")}


def actual_values(loaded):
    spec = loaded["spec"]
    out = {k: spec[k] for k in ("vm_id", "vcpu_count", "mem_size_mib", "disk_mode", "boot_args",
                                "boot_timeout_s", "vmm", "executor", "network", "accel")}
    out.update({k: loaded[k] for k in ("name", "disk_size_mib", "ports", "env", "setup",
                                       "snapshot")})
    return out


def expected_messages(path):
    """The "# expect: ..." lines at the top of a bad profile."""
    found = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.startswith("# expect:"):
                break
            found.append(line[len("# expect:"):].strip())
    return found


def profiles_in(folders):
    for folder in folders:
        for name in sorted(os.listdir(folder)):
            if name.endswith(".yaml"):
                yield os.path.join(folder, name)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--schema", required=True)
    ap.add_argument("--checker", required=True, help="the profile_check binary")
    ap.add_argument("--good", nargs="+", default=[], help="folders of valid profiles")
    ap.add_argument("--bad", nargs="+", default=[], help="folders of invalid profiles")
    args = ap.parse_args()

    with open(args.schema) as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema)

    failures, counts = [], {"good": 0, "bad": 0}
    for kind, folders in (("good", args.good), ("bad", args.bad)):
        for path in profiles_in(folders):
            counts[kind] += 1
            merged = None
            try:
                merged = schema_verdict(validator, path)
                schema_ok, schema_why = True, ""
            except Refused as e:
                schema_ok, schema_why = False, str(e)
            cpp_ok, cpp_out, loaded = cpp_verdict(args.checker, path)
            if merged is not None and loaded is not None:
                want, got = expected_values(schema, merged), actual_values(loaded)
                for key in want:
                    if want[key] != got[key]:
                        failures.append("%s: %s: Python reads %r, C++ %r" % (path, key, want[key], got[key]))
            verdict = "accepted" if cpp_ok else "refused"
            print("%-8s %-9s %s" % (kind, verdict, os.path.relpath(path)))
            if schema_ok != cpp_ok:
                failures.append("%s: schema %s (%s) but C++ %s (%s)" % (
                    path, "accepts" if schema_ok else "refuses", schema_why,
                    "accepts" if cpp_ok else "refuses", cpp_out))
            if (kind == "good") != cpp_ok:
                failures.append("%s: expected %s, C++ said: %s" % (
                    path, "OK" if kind == "good" else "an error", cpp_out))
            if kind == "bad":
                wanted = expected_messages(path)
                if not wanted:
                    failures.append("%s: no '# expect:' line" % path)
                for want in wanted:
                    if want not in cpp_out:
                        failures.append("%s: message %r does not contain %r" % (path, cpp_out, want))
            if os.environ.get("VERBOSE"):
                print("    schema: %s\n    C++:    %s" % (schema_why or "OK", cpp_out))

    print("%d good and %d bad profiles checked" % (counts["good"], counts["bad"]))
    if counts["good"] < 5 or counts["bad"] < 12:
        failures.append("corpus too small: found %(good)d good and %(bad)d bad profiles" % counts)
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
