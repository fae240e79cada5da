// smolvm: the command line. A client of the C ABI (smolvm.h) only.
#include <cstring>
#include <functional>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "cli/common.h"

namespace {

// The limits' text from smolvm.h itself, so help never disagrees with the
// library's checks.
#define SMOLVM_CLI_STR_(x) #x
#define SMOLVM_CLI_STR(x) SMOLVM_CLI_STR_(x)

using Command = std::function<int(const std::vector<std::string>&)>;

struct Entry {
  Command run;
  const char* summary;
  const char* help;
};

// clang-format off
const char kCreateHelp[] =
    "usage: smolvm create [--id ID] [--vcpus N] [--mem MIB] [--disk-mode isolated|shared]\n"
    "                     [--disk-size MIB] [--image NAME] [--kernel PATH] [--rootfs PATH]\n"
    "                     [--boot-args ARGS]\n"
    "                     [--vmm auto|NAME] [--executor auto|NAME] [--network none|auto|NAME]\n"
    "                     [--accel auto|kvm|tcg] [--boot-timeout SECONDS]\n"
    "                     [--ttl SPAN] [--on-ttl delete|stop]\n"
    "                     [--idle-timeout SPAN] [--on-idle pause|stop|delete|hibernate]\n"
    "                     [--boot auto|cold] [--start]\n"
    "       smolvm create --profile FILE.yaml [--id ID] [--start]\n"
    "       smolvm create --from-snapshot SNAPSHOT [--id ID] [--ttl SPAN] [--on-ttl ...]\n"
    "                     [--idle-timeout SPAN] [--on-idle ...] [--start]\n"
    "Prints the new VM's id. Defaults: " SMOLVM_CLI_STR(SMOLVM_VCPU_DEFAULT) " vCPUs ("
    SMOLVM_CLI_STR(SMOLVM_VCPU_MIN) ".." SMOLVM_CLI_STR(SMOLVM_VCPU_MAX) "), "
    SMOLVM_CLI_STR(SMOLVM_MEM_MIB_DEFAULT) " MiB (" SMOLVM_CLI_STR(SMOLVM_MEM_MIB_MIN) ".."
    SMOLVM_CLI_STR(SMOLVM_MEM_MIB_MAX) "),\n"
    "isolated disk, the default image from `smolvm image build`, accel auto\n"
    "(KVM where the host has hardware KVM, else TCG), network none (no NIC;\n"
    "--network auto gives it a TAP, NAT and isolation).\n"
    "NAME is a plugin of that kind (`smolvm plugins` lists those installed; SmolVM\n"
    "ships vmm qemu and firecracker, executor agent and ssh, network nftables and\n"
    "iptables). auto picks the best the host supports.\n"
    "--image NAME boots a named image (`smolvm image ls`); the VM keeps the image the\n"
    "name leads to now, whatever the name leads to later.\n"
    "--disk-size MIB makes the isolated disk larger than the image (up to\n"
    SMOLVM_CLI_STR(SMOLVM_DISK_MIB_MAX) "); the guest's / grows into it at boot, and the host\n"
    "file takes only what the guest writes.\n"
    "Lifetimes, enforced by the VM's supervisor with or without a client (SPAN: 90,\n"
    "90s, 15m, 2h, 1d; at most 30d; none by default):\n"
    "  --ttl SPAN          running time one boot may have (paused time does not\n"
    "                      count); then --on-ttl: delete (default) or stop\n"
    "  --idle-timeout SPAN time with no command or copy under way; then --on-idle:\n"
    "                      pause (default; the next command or copy resumes it),\n"
    "                      stop, delete, or hibernate (saved into its folder and\n"
    "                      stopped; the next start or command restores it as it\n"
    "                      stood; isolated disk and no network only)\n"
    "--boot cold always boots the kernel. auto (default): the first start restores\n"
    "a template - a snapshot of a freshly booted guest of the same image, vCPUs,\n"
    "memory and backends, kept beside the image in the cache and made by the first\n"
    "such start - where the VM fits one (no network, no --boot-args). The\n"
    "environment variable SMOLVM_TEMPLATE=0 makes every VM cold. `smolvm inspect`\n"
    "shows boot: snapshot|cold and why.\n"
    "--profile creates from a YAML profile (examples/profiles/); SMOLVM_PROFILE_*\n"
    "environment variables override its fields.\n"
    "--from-snapshot makes a new VM of a snapshot (`smolvm snapshot ls`): its first\n"
    "start loads the saved memory instead of booting. Its lifetimes are those given\n"
    "here, not the source's.";
// clang-format on

const std::map<std::string, Entry>& commands() {
  using namespace smolvm_cli;
  static const std::map<std::string, Entry> table = {
      {"create", {cmd_create, "record a new VM (and its disk); --start boots it", kCreateHelp}},
      {"start",
       {cmd_start, "boot a VM and wait for its agent",
        "usage: smolvm start ID [--boot-timeout SECONDS]\nBoots the VM and returns once its "
        "guest agent answers, or fails after\nSECONDS (default: the VM's boot timeout, "
        "create --boot-timeout)."}},
      {"run",
       {cmd_run, "run a command in a VM (or in a one-shot VM with --rm)",
        "usage: smolvm run ID [-e K=V]... [-w DIR] [-t SECONDS] [-i] [--shell login|raw]\n"
        "                 [-- COMMAND...]\n"
        "       smolvm run --rm [create options] [-e K=V]... [-- COMMAND...]\n"
        "One COMMAND argument is a shell command line, run by the VM user's login\n"
        "shell (bash -l -c in the default image), or by /bin/sh -c with --shell raw;\n"
        "several are run as argv. Output streams as it comes; the exit code is the\n"
        "command's. --rm creates, starts, runs and deletes a VM in one go. The VM is\n"
        "bound to this process: killed by any signal (SIGKILL too) or its terminal\n"
        "closed, the VM's supervisor deletes the VM itself.\n"
        "-i sends this process's stdin to the command. -t kills the command and\n"
        "everything it started (its cgroup in the guest) after SECONDS, and returns\n"
        "at most a short grace later whatever the guest does. Ctrl-C is passed on\n"
        "to the command.\n"
        "Without a COMMAND, run runs the Entrypoint then the Cmd of the VM's image\n"
        "(an imported container image's config; refused when it has neither).\n"
        "Commands run as the image's default user, in its working directory, with\n"
        "its environment (a recipe's user/workdir/env, an import's User/WorkingDir/\n"
        "Env); -u, -w and -e win over them.\n"
        "Exit codes: the command's own; 125 when SmolVM itself failed; 2 for usage."}},
      {"exec",
       {cmd_exec, "run a command in a running VM (same as run ID)",
        "usage: smolvm exec ID [-e K=V]... [-w DIR] [-t SECONDS] [-i] [-u USER] [--shell "
        "login|raw]\n"
        "                  [-it] -- COMMAND...\n"
        "See `smolvm run --help`. -u runs the command as a user of the guest (a name,\n"
        "uid or uid:gid; the default image has `user`, uid 1000). -it (or --tty) runs\n"
        "it on a terminal attached to this one in raw mode: what you type goes to\n"
        "it, window size changes follow, and this terminal is restored when it ends."}},
      {"shell",
       {cmd_shell, "an interactive shell in a running VM, through its agent (no SSH)",
        "usage: smolvm shell ID [-u USER] [-w DIR] [-e K=V]...\n"
        "Runs a login shell (bash -l in the default image) on a terminal in the VM,\n"
        "attached to this one in raw mode: keys, Ctrl-C and window size changes go\n"
        "to the guest; the terminal is restored on exit and on signals. No network\n"
        "or SSH is needed. The exit code is the shell's."}},
      {"cp",
       {cmd_cp, "copy files or folders between host and VM",
        "usage: smolvm cp [--max-bytes N] [--timeout SECONDS] HOST_PATH ID:/GUEST_PATH\n"
        "       smolvm cp [--max-bytes N] [--timeout SECONDS] ID:/GUEST_PATH HOST_PATH\n"
        "Folders are copied recursively (a host folder's FIFOs, sockets and devices are\n"
        "not sent; a host path that is one is refused). A guest file copied onto an\n"
        "existing host folder goes into it. What comes from the guest is untrusted: no\n"
        "owner, setuid/setgid bit or special file from it lands, symlinks are made as\n"
        "symlinks and never followed, HOST_PATH's own owner and mode never change, and\n"
        "a failed copy leaves nothing behind.\n"
        "  --max-bytes N      stop past N bytes (default 1073741824, 1 GiB)\n"
        "  --timeout SECONDS  stop after this long (default 300)"}},
      {"ssh",
       {cmd_ssh, "open a shell in a VM over SSH (VMs created with --executor ssh)",
        "usage: smolvm ssh ID [-- COMMAND...]\nRuns the system ssh client as root@<the VM's IP> "
        "with the VM's own key,\naccepting only the host key pinned when the VM first booted."}},
      {"stop",
       {cmd_stop, "shut a VM down (graceful, then forced)",
        "usage: smolvm stop ID [-t SECONDS]\nAsks the guest to shut down and forces it off after "
        "SECONDS (default 10)."}},
      {"pause",
       {cmd_pause, "stop a running VM's vCPUs, keeping its memory and processes",
        "usage: smolvm pause ID\nThe guest stands still (its clock, processes and timers) "
        "until `smolvm resume ID`;\nits memory, disk, network and supervisor stay. Commands and "
        "copies are refused\nwhile it is paused; stop and rm work. Only a running VM can be "
        "paused."}},
      {"resume",
       {cmd_resume, "let a paused VM run again",
        "usage: smolvm resume ID\nThe guest carries on where `smolvm pause` left it. Only a "
        "paused VM can be resumed."}},
      {"rm",
       {cmd_rm, "delete VMs (stopping them first)",
        "usage: smolvm rm [-f] ID...\nStops each VM if it runs and removes its disk, logs, "
        "processes and record.\n-f: ignore VMs that do not exist."}},
      {"ls",
       {cmd_ls, "list VMs",
        "usage: smolvm ls [--json] [-q]\n-q prints ids only. LIFETIME shows the running time "
        "left of a VM's ttl and its\nidle timeout (create --ttl, --idle-timeout), with what "
        "happens then."}},
      {"port",
       {cmd_port, "forward host ports to a VM",
        "usage: smolvm port ID [ls]\n       smolvm port ID add GUEST[:HOST] [--addr A] [--udp]\n"
        "       smolvm port ID rm HOST [--addr A] [--udp]\n"
        "Forwards A:HOST (default 127.0.0.1, a free port when HOST is left out;\n"
        "0.0.0.0 for every host address) to the guest's port GUEST. Forwards are kept\n"
        "with the VM and applied whenever it runs. Needs a VM with a network\n"
        "(create --network auto)."}},
      {"env",
       {cmd_env, "set the variables every command in a VM sees",
        "usage: smolvm env ID [ls] [--json]\n       smolvm env ID set [--replace] NAME=VALUE...\n"
        "       smolvm env ID unset NAME...\n"
        "The variables are kept with the VM: every later command sees them (run,\n"
        "exec, any shell), across stop and start, from any process. set adds or\n"
        "replaces the names given (--replace: they become the whole set). Names match\n"
        "[A-Za-z_][A-Za-z0-9_]*. A profile's env: is where the set starts."}},
      {"inspect", {cmd_inspect, "show everything about a VM as JSON", "usage: smolvm inspect ID"}},
      {"logs",
       {cmd_logs, "print a VM's console log",
        "usage: smolvm logs [-f] [--raw] ID\n"
        "-f follows the log while the VM runs. Control characters other than newline\n"
        "and tab are shown escaped (\\x1b), so guest output cannot drive the terminal;\n"
        "--raw prints the bytes as they are. Only the newest output is kept\n"
        "(console.log, and console.log.1 before it)."}},
      {"gc",
       {cmd_gc, "clean up after crashes (dead supervisors, orphan folders)",
        "usage: smolvm gc\nMarks VMs whose supervisor died as failed, kills what they left and\n"
        "removes folders that belong to no VM."}},
      {"doctor",
       {cmd_doctor, "check what this host offers SmolVM",
        "usage: smolvm doctor [--json]\nChecks KVM (hardware, PVM or absent), the VMM binaries, "
        "the guest image,\nnetwork tools and privileges, how each VM's QEMU is isolated (a uid "
        "of its own,\ncgroup limits), and says how to fix what is missing. Exit 1 if a "
        "required\npiece is missing."}},
      {"plugins",
       {cmd_plugins, "list the plugins found, with version and ABI, or why each is refused",
        "usage: smolvm plugins [--json]\nLoads every smolvm-<kind>-<name>.so in the plugin search "
        "path (SMOLVM_PLUGIN_PATH,\nthen the install's lib/smolvm/plugins) and prints its kind, "
        "name, version,\nthe plugin ABI it was built for and its path; a plugin that cannot be "
        "used is\nlisted with the reason. Exit 1 if any is refused."}},
      {"fork", {cmd_fork, "snapshot a VM and start new VMs restored from it", kForkUsage}},
      {"snapshot",
       {cmd_snapshot, "save a VM's memory and disk, list, inspect or remove snapshots",
        kSnapshotUsage}},
      {"mcp",
       {cmd_mcp, "serve sandboxes to AI agents over the Model Context Protocol (stdio)",
        "usage: smolvm mcp\n"
        "A Model Context Protocol server on stdin and stdout (newline-delimited\n"
        "JSON-RPC 2.0; logs go to stderr), for an MCP client to launch: its config\n"
        "names the command `smolvm` with the argument `mcp`. Tools: create_sandbox,\n"
        "run_command, write_file, read_file, list_sandboxes, delete_sandbox,\n"
        "expose_port, snapshot_sandbox, restore_sandbox (tools/list gives each one's\n"
        "description and JSON Schema). Sandboxes this session creates are deleted\n"
        "when stdin closes or on SIGTERM, SIGINT or SIGHUP, and by their supervisor\n"
        "if this process is killed outright, unless created with persistent: true.\n"
        "Over HTTP it will come with `smolvm serve`. docs/mcp.md has the details."}},
      {"image", {cmd_image, "build, list, inspect, remove or prune guest images", kImageUsage}},
  };
  return table;
}

void print_usage(std::ostream& out) {
  out << "smolvm " << smolvm_version()
      << ": disposable, hardware-isolated Linux microVMs for AI agents\n\n"
         "usage: smolvm COMMAND [OPTIONS]   (smolvm COMMAND --help for details)\n\ncommands:\n";
  for (const auto& [name, e] : commands()) {
    out << "  " << name << std::string(10 - name.size(), ' ') << e.summary << "\n";
  }
  out << "  version   print the version\n\n"
         "environment: SMOLVM_STATE_DIR (state, default ~/.local/state/smolvm),\n"
         "SMOLVM_CACHE_DIR (images, default ~/.cache/smolvm), SMOLVM_PLUGIN_PATH.\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_usage(args.empty() ? std::cerr : std::cout);
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "version" || args[0] == "--version") {
    std::cout << "smolvm " << smolvm_version() << "\n";
    return 0;
  }
  const auto it = commands().find(args[0]);
  if (it == commands().end()) {
    std::cerr << "smolvm: unknown command '" << args[0] << "'\n\n";
    print_usage(std::cerr);
    return 2;
  }
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  for (const auto& a : rest) {
    if (a == "--") break;
    if (a == "--help" || a == "-h") {
      std::cout << it->second.help << "\n";
      return 0;
    }
  }
  const bool guest_exit_codes = args[0] == "run" || args[0] == "exec" || args[0] == "shell";
  try {
    return it->second.run(rest);
  } catch (const smolvm_cli::UsageError& e) {
    std::cerr << "smolvm " << args[0] << ": " << e.what() << "\n";
    return 2;
  } catch (const smolvm_cli::ApiError& e) {
    std::cerr << "smolvm: " << e.what() << "\n";
    return guest_exit_codes ? 125 : 1;
  } catch (const std::exception& e) {
    std::cerr << "smolvm: " << e.what() << "\n";
    return guest_exit_codes ? 125 : 1;
  }
}
