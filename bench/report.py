#!/usr/bin/python3
"""Turns bench/results/*.json into results.md (every table), chart.png and
README-section.md, and prints the comparison with the numbers SmolVM's docs
state. The chart needs Debian's python3-matplotlib (run with /usr/bin/python3);
without it the tables are written and chart.png is left as it was.

usage: bench/report.py [RESULTS_DIR]
"""
import json
import os
import subprocess
import sys

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: E402
except ImportError:
    plt = None

# Numbers stated in SmolVM's docs, measured on KVM (milliseconds).
DOCUMENTED_KVM = [
    ("create+start", 572, "create_start", "create+start (returns at agent ready)"),
    ("SSH ready", 2100, "ssh_ready", "SSH ready: create+start+first command over SSH"),
    ("exec", 43, "exec_true", "exec `true` round trip"),
    ("stop+delete", 751, "stop_delete", "stop+delete"),
    ("full lifecycle", 3500, "full_lifecycle", "full lifecycle"),
]

SHORT = {
    "create_start": "create+start",
    "ready_first_exec": "ready, agent\n(1st exec)",
    "ssh_ready": "ready, SSH\n(1st exec)",
    "exec_true": "exec true",
    "ssh_exec_true": "exec true\nover SSH",
    "exec_1mib": "exec 1 MiB",
    "put_10mib": "put 10 MiB",
    "get_10mib": "get 10 MiB",
    "pause": "pause",
    "resume": "resume",
    "stop_delete": "stop+delete",
    "full_lifecycle": "full\nlifecycle",
}


def load(results, name):
    path = os.path.join(results, name + ".json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        data = json.load(f)
    if "env" not in data:  # written by an older benchmark: not comparable
        print(f"report.py: ignoring {path}: an older format", file=sys.stderr)
        return None
    return data


def merge_ssh(lc, ssh):
    """Puts the SSH-ready runs (a separate process, in a network namespace)
    into the lifecycle phases, beside the lifecycle run's baselines."""
    if not lc or not ssh:
        return
    phases = {}
    for key, p in lc["phases"].items():
        phases[key] = p
        if key == "ready_first_exec":
            for sk, base in (("ssh_ready", "bare_qemu_ready"), ("ssh_exec_true", None)):
                q = dict(ssh["phases"][sk])
                q["name"] += f" ({ssh['runs']} runs, network {ssh['network']} in a netns)"
                if base and base in lc["baselines"]:
                    b = lc["baselines"][base]
                    q["baseline"] = {"name": "bare QEMU boot to the agent marker (lifecycle run)",
                                     "p50": b["p50"], "p95": b["p95"]}
                    q["ratio_p50"] = q["p50"] / b["p50"]
                elif sk == "ssh_exec_true" and "bare_sh_true" in lc["baselines"]:
                    b = lc["baselines"]["bare_sh_true"]
                    q["baseline"] = {"name": "bare QEMU: shell runs /bin/true (lifecycle run)",
                                     "p50": b["p50"], "p95": b["p95"]}
                    q["ratio_p50"] = q["p50"] / b["p50"]
                phases[sk] = q
    lc["phases"] = phases
    lc.setdefault("skipped", {})["ssh_ready"] = None


def env_line(env):
    return (f"accel **{env.get('accel', '?')}** | CPU {env.get('cpu', '?')} "
            f"({env.get('cores', '?')} cores, {env.get('mem_total_gib', 0):.0f} GiB) | "
            f"host kernel {env.get('host_kernel', '?')} | {env.get('qemu', '?')} | "
            f"KVM: {env.get('kvm', '?')} | load (1 min) {env.get('loadavg_1m_at_start', 0):.2f} "
            f"at start, {env.get('loadavg_1m_at_end', 0):.2f} at end, "
            f"{env.get('other_vmm_processes_at_start', 0)} other VMM processes running | "
            f"{env.get('when', '')}")


def tcg_note(env):
    if env.get("accel") == "tcg":
        return ("**TCG: not comparable in absolute terms** with KVM figures: every guest "
                "instruction is emulated in software on this host (its /dev/kvm is PVM, which "
                "cannot run a stock guest kernel). Compare ratios, not milliseconds.")
    return ""


def lifecycle_md(lc):
    out = [f"### Lifecycle: {lc['runs']} runs, {lc['execs_per_run']} `true` round trips per run",
           "", env_line(lc["env"]), ""]
    if tcg_note(lc["env"]):
        out += [tcg_note(lc["env"]), ""]
    out += ["| phase | SmolVM p50 ms | SmolVM p95 ms | baseline, same run | baseline p50 ms | "
            "baseline p95 ms | SmolVM / baseline (p50) |",
            "|---|---:|---:|---|---:|---:|---:|"]
    for key, p in lc["phases"].items():
        b = p.get("baseline")
        if b:
            out.append(f"| {p['name']} | {p['p50']:.1f} | {p['p95']:.1f} | {b['name']} | "
                       f"{b['p50']:.1f} | {b['p95']:.1f} | {p['ratio_p50']:.2f} |")
        else:
            out.append(f"| {p['name']} | {p['p50']:.1f} | {p['p95']:.1f} | - | | | |")
    bl = lc["baselines"]
    out += ["",
            "Baselines, measured run by run beside SmolVM (the order alternates): bare QEMU "
            "booting the same kernel and rootfs with SmolVM's machine and devices to the same "
            "console marker (`smolvm-agent: ready`), and bare QEMU with `/bin/sh` as init doing "
            "the exec and file work over the same virtio-serial port with a shell loop "
            f"(boot to that loop: p50 {bl.get('bare_sh_boot', {}).get('p50', 0):.0f} ms). "
            "No SmolVM code runs in either. In-guest fork+exec of `/bin/true`: "
            f"{lc.get('guest_fork_exec_ms', 0):.1f} ms.", ""]
    sk = lc.get("skipped", {})
    if sk.get("firecracker"):
        out.append(f"- Firecracker baseline skipped: {sk['firecracker']}.")
    else:
        fc = bl.get("bare_firecracker_ready")
        if fc:
            out.append(f"- Firecracker to the same marker: p50 {fc['p50']:.1f} ms, "
                       f"p95 {fc['p95']:.1f} ms.")
    if sk.get("ssh_ready"):
        out.append(f"- SSH ready skipped: {sk['ssh_ready']}.")
    elif "ssh_ready" not in lc["phases"]:
        out.append("- SSH ready: not measured in this run (`bench/run.sh --only ssh` does, as "
                   "root, in a network namespace of its own).")
    out.append("")
    return out


def density_md(d):
    left = d["leftovers"]
    out = [f"### Density: {d['vms']} VMs of {d['mem_mib']} MiB, {d['vcpus']} vCPU, network "
           f"{d['network']}, idle {d['idle_s']} s", "", env_line(d["env"]), ""]
    if tcg_note(d["env"]):
        out += [tcg_note(d["env"]), ""]
    pss, cs = d["pss_mib_per_vm"], d["create_start"]
    out += ["| measure | value |", "|---|---:|",
            f"| VMs running at once | {d['vms']} |",
            f"| time to create+start all ({d['threads']} threads) | "
            f"{d['create_all_ms'] / 1000:.1f} s |",
            f"| per-VM create+start p50 / p95 | {cs['p50']:.0f} / {cs['p95']:.0f} ms |",
            f"| host memory per VM, PSS of supervisor + QEMU: p50 / max | "
            f"{pss['p50']:.1f} / {pss['max']:.1f} MiB |",
            f"| of which QEMU / supervisor (PSS p50) | {d['vmm_pss_mib']['p50']:.1f} / "
            f"{d['supervisor_pss_mib']['p50']:.1f} MiB |",
            f"| RSS per VM p50 (shared pages counted in full) | "
            f"{d['rss_mib_per_vm']['p50']:.1f} MiB |",
            f"| host MemAvailable drop per VM | {d['mem_available_drop_mib_per_vm']:.1f} MiB |",
            f"| processes per VM | {d['processes_per_vm']['p50']:.0f} "
            f"(max {d['processes_per_vm']['max']:.0f}: supervisor + QEMU) |",
            f"| idle CPU per VM | {d['idle_cpu_pct_per_vm']:.2f} % of a core |",
            f"| load (1 min) after starting / while idle | {d['loadavg_after_start']:.2f} / "
            f"{d['loadavg_idle']:.2f} |",
            f"| `echo ok` in every VM, concurrently | {d['exec_all_ms'] / 1000:.2f} s "
            f"(p50 {d['exec']['p50']:.0f} / p95 {d['exec']['p95']:.0f} ms), "
            f"{'all answered' if d['exec_ok'] else 'FAILED'} |",
            f"| delete all | {d['delete_all_ms'] / 1000:.2f} s (p50 {d['delete']['p50']:.0f} / "
            f"p95 {d['delete']['p95']:.0f} ms) |",
            f"| left afterwards: processes / store rows / leases / VM folders | "
            f"{left['processes_alive'] + left['processes_with_state_dir_in_cmdline']} / "
            f"{left['store_rows']} / {left['leases']} / {left['vm_folders']} |",
            f"| left afterwards: TAP devices / nftables lines naming smolvm (after - before) | "
            f"{left['tap_devices_after'] - left['tap_devices_before']} / "
            f"{left['nft_smolvm_lines_after'] - left['nft_smolvm_lines_before']} |",
            f"| everything gone | **{'yes' if left['clean'] else 'NO'}** |", "",
            f"Why {d['vms']}: by memory this host would hold about "
            f"{d['env'].get('mem_total_gib', 0) * 1024 / max(pss['p50'], 1):.0f} such VMs (total "
            f"RAM / PSS per VM), but under TCG an idle VM still costs "
            f"{d['idle_cpu_pct_per_vm']:.1f} % of a core, so {d['env'].get('cores', 0)} cores "
            f"are saturated by about "
            f"{d['env'].get('cores', 0) * 100 / max(d['idle_cpu_pct_per_vm'], 0.01):.0f} idle "
            "VMs; the default leaves headroom for the host and the other users of this shared "
            "machine (`bench/run.sh --vms N` for more). With KVM the CPU bound mostly goes away.",
            "",
            "MemAvailable drop is host-wide and moves with everything else running on a shared "
            "host; PSS is the per-VM figure.", "",
            "With network=none a VM has no TAP, rule or lease; the counts show none appeared "
            "and none was left. Processes are checked by the recorded pids and by a /proc scan "
            "for the benchmark's state folder in any command line.", ""]
    return out


def concurrency_md(c):
    out = [f"### Concurrency: `{c['command']}` in a loop, {c['seconds_per_cell']:.0f} s per cell, "
           f"each client a thread with its own handle; VMs of {c['vm_vcpus']} vCPUs, "
           f"{c['vm_mem_mib']} MiB", "", env_line(c["env"]), ""]
    if tcg_note(c["env"]):
        out += [tcg_note(c["env"]), ""]
    out += ["| clients K | one VM: ops/s | p50 ms | p95 ms | K VMs: ops/s | p50 ms | p95 ms |",
            "|---:|---:|---:|---:|---:|---:|---:|"]
    for r in c["rows"]:
        a, b = r["one_vm"], r["k_vms"]
        out.append(f"| {r['clients']} | {a['ops_per_s']:.1f} | {a['latency_ms']['p50']:.1f} | "
                   f"{a['latency_ms']['p95']:.1f} | {b['ops_per_s']:.1f} | "
                   f"{b['latency_ms']['p50']:.1f} | {b['latency_ms']['p95']:.1f} |")
    if c.get("errors"):
        out.append(f"\n{c['errors']} commands failed.")
    out.append("")
    return out


def documented_md(lc):
    env = lc["env"]
    out = ["### Beside the numbers SmolVM's docs state (KVM)", ""]
    if env.get("accel") == "tcg":
        out += ["**TCG: not comparable in absolute terms.** The documented figures were measured "
                "on KVM; these were measured under TCG software emulation, so the ratio column "
                "mostly measures the emulator, not SmolVM.", ""]
    out += [f"| documented (KVM) | ms | measured here ({env.get('accel')}) | p50 ms | p95 ms | "
            "measured / documented |", "|---|---:|---|---:|---:|---:|"]
    for name, doc_ms, key, ours in DOCUMENTED_KVM:
        p = lc["phases"].get(key)
        if not p and key == "ssh_ready":
            p, ours = lc["phases"].get("ready_first_exec"), ("agent ready, first command "
                                                             "answered (SSH was not measured)")
        if not p:
            continue
        out.append(f"| {name} | {doc_ms} | {ours} | {p['p50']:.1f} | {p['p95']:.1f} | "
                   f"{p['p50'] / doc_ms:.2f} |")
    out.append("")
    return out


def stream_md(st):
    out = [f"### Streamed output: {st['runs']} runs, interleaved", "", env_line(st["env"]), "",
           "| command | SmolVM p50 ms | SmolVM p95 ms | baseline, same run | baseline p50 ms | "
           "baseline p95 ms | ratio p50 | ratio p95 |",
           "|---|---:|---:|---|---:|---:|---:|---:|"]
    for p in st["phases"].values():
        b = p["baseline"]
        out.append(f"| {p['name']} | {p['p50']:.1f} | {p['p95']:.1f} | {b['name']} | "
                   f"{b['p50']:.1f} | {b['p95']:.1f} | {p['ratio_p50']:.2f} | "
                   f"{p['ratio_p95']:.2f} |")
    out += ["",
            "Both QEMUs are launched by the vmm-qemu plugin (the same command line and "
            "devices); SmolVM runs `head` as an argv (`smolvm_vm_exec`, no shell) and the bare "
            "guest's `/bin/sh` forks the same `head` onto the virtio-serial port. The login "
            "shell a string command runs in (`smolvm_vm_run`) adds "
            f"{st['login_shell_ms_p50']:.0f} ms at p50 (`run true` against `exec argv true`).",
            ""]
    return out


def chart(lc, d, c, path):
    fig = plt.figure(figsize=(15, 9.5), dpi=110)
    gs = fig.add_gridspec(2, 2, height_ratios=[1.15, 1], hspace=0.42, wspace=0.22)
    accel = (lc or d or c)["env"].get("accel", "?")
    title = f"SmolVM benchmarks ({accel.upper()}"
    if accel == "tcg":
        title += ": software emulation, not comparable in absolute terms with KVM"
    fig.suptitle(title + ")", fontsize=13)

    if lc:
        ax = fig.add_subplot(gs[0, :])
        keys = [k for k in SHORT if k in lc["phases"]]
        x = range(len(keys))
        w = 0.38
        sv = [lc["phases"][k]["p50"] for k in keys]
        sv95 = [lc["phases"][k]["p95"] - lc["phases"][k]["p50"] for k in keys]
        bv = [lc["phases"][k].get("baseline", {}).get("p50", 0) for k in keys]
        bv95 = [lc["phases"][k].get("baseline", {}).get("p95", 0) - b for k, b in zip(keys, bv)]
        ax.bar([i - w / 2 for i in x], sv, w, yerr=[[0] * len(sv), sv95], capsize=3,
               label="SmolVM (p50, whisker to p95)", color="#3465a4")
        ax.bar([i + w / 2 for i in x], bv, w, yerr=[[0] * len(bv), bv95], capsize=3,
               label="baseline, same run (bare QEMU, no SmolVM)", color="#bbbbbb")
        for i, k in enumerate(keys):
            r = lc["phases"][k].get("ratio_p50")
            if r:
                ax.annotate(f"{r:.2f}x", (i, max(sv[i] + sv95[i], bv[i] + bv95[i]) * 1.15),
                            ha="center", fontsize=9, fontweight="bold")
        ax.set_yscale("log")
        ax.set_ylim(top=max(s + e for s, e in zip(sv, sv95)) * 3)
        ax.set_xticks(list(x))
        ax.set_xticklabels([SHORT[k] for k in keys])
        ax.set_ylabel("milliseconds (log scale)")
        ax.set_title(f"Lifecycle phases, {lc['runs']} runs; label = SmolVM / baseline (p50)")
        ax.legend(loc="upper center", ncol=2, fontsize=9)
        ax.grid(axis="y", alpha=0.3, which="both")

    if d:
        ax = fig.add_subplot(gs[1, 0])
        labels = ["PSS\n(supervisor+QEMU)", "of which\nQEMU", "of which\nsupervisor",
                  "RSS", "MemAvailable\ndrop"]
        vals = [d["pss_mib_per_vm"]["p50"], d["vmm_pss_mib"]["p50"],
                d["supervisor_pss_mib"]["p50"], d["rss_mib_per_vm"]["p50"],
                d["mem_available_drop_mib_per_vm"]]
        bars = ax.bar(labels, vals, color=["#3465a4", "#729fcf", "#729fcf", "#bbbbbb", "#bbbbbb"])
        for b_, v in zip(bars, vals):
            ax.annotate(f"{v:.1f}", (b_.get_x() + b_.get_width() / 2, v), ha="center",
                        va="bottom", fontsize=9)
        ax.axhline(d["mem_mib"], color="#cc0000", ls="--", lw=1)
        ax.annotate(f"guest RAM {d['mem_mib']} MiB", (-0.4, d["mem_mib"] * 1.02), ha="left",
                    va="bottom", fontsize=8, color="#cc0000")
        ax.set_ylim(0, max(vals + [d["mem_mib"]]) * 1.25)
        ax.set_ylabel("MiB per VM (p50)")
        ax.set_title(f"Density: {d['vms']} idle VMs of {d['mem_mib']} MiB; all up in "
                     f"{d['create_all_ms'] / 1000:.0f} s; {d['processes_per_vm']['p50']:.0f} "
                     f"processes/VM; clean after: {'yes' if d['leftovers']['clean'] else 'NO'}",
                     fontsize=10)
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(axis="y", alpha=0.3)

    if c:
        ax = fig.add_subplot(gs[1, 1])
        ks = [r["clients"] for r in c["rows"]]
        one = [r["one_vm"]["ops_per_s"] for r in c["rows"]]
        many = [r["k_vms"]["ops_per_s"] for r in c["rows"]]
        ax.plot(ks, one, "o-", color="#3465a4", label="ops/s, K clients on one VM")
        ax.plot(ks, many, "s-", color="#f57900", label="ops/s, K clients on K VMs")
        ax.set_xscale("log", base=2)
        ax.set_xticks(ks)
        ax.set_xticklabels([str(k) for k in ks])
        ax.set_xlabel("clients K")
        ax.set_ylabel("commands per second")
        ax.set_ylim(0, max(one + many) * 1.3)
        ax2 = ax.twinx()
        ax2.plot(ks, [r["one_vm"]["latency_ms"]["p95"] for r in c["rows"]], "o:",
                 color="#3465a4", alpha=0.6, label="p95 ms, one VM")
        ax2.plot(ks, [r["k_vms"]["latency_ms"]["p95"] for r in c["rows"]], "s:",
                 color="#f57900", alpha=0.6, label="p95 ms, K VMs")
        ax2.set_ylabel("p95 latency, ms (dotted)")
        ax2.set_ylim(0, max([r["one_vm"]["latency_ms"]["p95"] for r in c["rows"]] +
                            [r["k_vms"]["latency_ms"]["p95"] for r in c["rows"]]) * 1.3)
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = ax2.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, fontsize=8, loc="upper left", ncol=2)
        ax.set_title(f"Concurrency: `true` in a loop, {c['seconds_per_cell']:.0f} s per point",
                     fontsize=10)
        ax.grid(alpha=0.3)
    fig.savefig(path, bbox_inches="tight")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    results = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "results")
    lc, d, c, ssh, st = (load(results, n)
                         for n in ("lifecycle", "density", "concurrency", "ssh", "stream"))
    merge_ssh(lc, ssh)
    if not (lc or d or c or st):
        sys.exit(f"report.py: no results in {results}")
    try:
        commit = subprocess.run(["git", "-C", here, "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = ""
    md = ["# SmolVM benchmark results", "",
          f"Made by `bench/run.sh` (`bench/report.py` from the JSON files beside this one)"
          f"{', at commit ' + commit + ' plus the working tree' if commit else ''}. "
          "The machine is shared: the load at start and end of each benchmark is recorded "
          "with it.", "", "![SmolVM benchmarks](chart.png)", ""]
    if lc:
        md += lifecycle_md(lc) + documented_md(lc)
    if st:
        md += stream_md(st)
    if d:
        md += density_md(d)
    if c:
        md += concurrency_md(c)
    with open(os.path.join(results, "results.md"), "w") as f:
        f.write("\n".join(md))
    if plt:
        chart(lc, d, c, os.path.join(results, "chart.png"))
    else:
        print("report.py: no matplotlib (apt-get install python3-matplotlib): chart.png not "
              "redrawn", file=sys.stderr)

    # The README's section: the lifecycle table, the key density and
    # concurrency numbers, and the chart.
    sec = ["## Benchmarks", "",
           "`bench/run.sh` (one command; `--quick` for a smoke run) measures the lifecycle beside "
           "bare QEMU booting the same kernel and rootfs to the same init marker in the same "
           "run, density (many idle VMs) and concurrency (many clients), and writes "
           "`bench/results/`: JSON per benchmark, `results.md` with every table, and "
           "`chart.png`.", "", "![SmolVM benchmarks](bench/results/chart.png)", ""]
    if lc:
        sec += lifecycle_md(lc)[2:] + documented_md(lc)
    if st:
        sec += stream_md(st)
    if d:
        sec += [f"Density: {d['vms']} VMs of {d['mem_mib']} MiB running at once, all started in "
                f"{d['create_all_ms'] / 1000:.1f} s; host memory per VM "
                f"{d['pss_mib_per_vm']['p50']:.1f} MiB PSS (supervisor + QEMU), "
                f"{d['processes_per_vm']['p50']:.0f} processes per VM, "
                f"{d['idle_cpu_pct_per_vm']:.1f} % of a core each while idle; after deleting "
                f"them no process, store row, lease, folder, TAP or rule was left: "
                f"{'yes' if d['leftovers']['clean'] else 'NO'}. "
                "Concurrency and the full tables: `bench/results/results.md`.", ""]
    with open(os.path.join(results, "README-section.md"), "w") as f:
        f.write("\n".join(sec))

    if lc:
        print("\n".join(documented_md(lc)))
    print(f"wrote {results}/results.md, {'chart.png, ' if plt else ''}README-section.md")


if __name__ == "__main__":
    main()
