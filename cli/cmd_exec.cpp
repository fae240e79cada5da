// Commands in the guest: run, exec, cp.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <memory>

#include "cli/common.h"
#include "cli/terminal.h"

namespace smolvm_cli {
namespace {

volatile sig_atomic_t g_interrupt = 0;

const std::set<std::string> kExecValueFlags = {"--env", "--workdir", "--timeout", "--shell",
                                               "--user"};
const std::map<std::string, std::string> kExecAliases = {{"-e", "--env"},     {"-w", "--workdir"},
                                                         {"-t", "--timeout"}, {"-i", "--stdin"},
                                                         {"-u", "--user"},    {"-it", "--tty"}};

// --timeout SECONDS (0: none) as the C ABI's milliseconds.
uint32_t exec_timeout_ms(const Args& a) {
  return static_cast<uint32_t>(a.number("--timeout", 0, 0, 86400) * 1000);
}

// --shell as given ("" for the default); refuses any other value.
std::string exec_shell(const Args& a) {
  const std::string shell = a.get("--shell");
  if (!shell.empty() && shell != "login" && shell != "raw") {
    throw UsageError("--shell " + shell + ": must be login or raw");
  }
  return shell;
}

// What needs no VM to refuse, checked before one is made or reached.
// run may go without a command (the image's Entrypoint and Cmd); exec may not.
void check_exec_args(const Args& a, bool command_needed = true) {
  if (command_needed && a.rest.empty()) throw UsageError("no command given (put it after --)");
  exec_timeout_ms(a);
  exec_shell(a);
}

// Runs argv (one argument: a shell command line) in the VM, streaming its
// output to ours; returns its exit code. Ctrl-C is passed to the command.
// With --tty it runs on a terminal, attached to ours (terminal.h).
// One word of cmd is a shell command line, unless as_argv.
int stream_command(smolvm_vm* vm, const Args& a, const std::vector<std::string>& cmd,
                   bool as_argv = false) {
  std::vector<const char*> argv, env;
  for (const auto& c : cmd) argv.push_back(c.c_str());
  const auto envs = a.all("--env");
  for (const auto& e : envs) env.push_back(e.c_str());
  const std::string cwd = a.get("--workdir");
  const std::string user = a.get("--user");
  std::string input;
  if (a.has("--stdin") && !a.has("--tty")) {
    input.assign(std::istreambuf_iterator<char>(std::cin), {});
  }

  smolvm_exec_options o;
  smolvm_exec_options_init(&o);
  if (cmd.size() == 1 && !as_argv) {
    o.command = cmd[0].c_str();  // one argument: a shell command line
  } else {
    o.argv = argv.data();
    o.argc = argv.size();
  }
  o.env = env.empty() ? nullptr : env.data();
  o.env_count = env.size();
  o.cwd = cwd.empty() ? nullptr : cwd.c_str();
  o.timeout_ms = exec_timeout_ms(a);
  const std::string shell = exec_shell(a);
  o.shell = shell.empty() ? nullptr : shell.c_str();
  o.user = user.empty() ? nullptr : user.c_str();
  if (a.has("--tty")) return attach_terminal(vm, o);
  o.stdin_data = reinterpret_cast<const uint8_t*>(input.data());
  o.stdin_len = input.size();

  smolvm_exec* raw = nullptr;
  check(smolvm_exec_start(&raw, vm, &o));
  std::unique_ptr<smolvm_exec, void (*)(smolvm_exec*)> ex(raw, smolvm_exec_free);
  check(smolvm_exec_close_stdin(ex.get()));
  struct sigaction sa {};
  sa.sa_handler = [](int) { g_interrupt = 1; };
  sigaction(SIGINT, &sa, nullptr);
  smolvm_exec_event ev;
  for (;;) {
    if (g_interrupt) {
      g_interrupt = 0;
      smolvm_exec_kill(ex.get(), SIGINT);
    }
    const int rc = smolvm_exec_next_event(&ev, ex.get(), 200);
    if (rc == SMOLVM_ETIMEOUT) continue;
    check(rc);
    if (ev.type == SMOLVM_EVENT_STDOUT) {
      fwrite(ev.data, 1, ev.len, stdout);
      fflush(stdout);
    } else if (ev.type == SMOLVM_EVENT_STDERR) {
      fwrite(ev.data, 1, ev.len, stderr);
    } else if (ev.type == SMOLVM_EVENT_EXIT) {
      if (ev.timed_out) std::cerr << "smolvm: command timed out and was killed\n";
      return ev.exit_code;
    }
  }
}

// What `run` runs when given no command: the Entrypoint then the Cmd of an
// imported image's config (its manifest's defaults), of the image `which`
// (a name or key; `what` names it for the user). Always argv: one word is
// a program, as the image means it, not a shell line.
std::vector<std::string> image_command(Runtime& rt, const std::string& which,
                                       const std::string& what) {
  std::vector<std::string> command;
  char* out = nullptr;
  std::string why;  // the image is not in the cache (a user's own rootfs, a wrong name)
  if (smolvm_image_list(&out, rt.rt, which.c_str()) != 0) {
    why = std::string(" (") + smolvm_last_error() + ")";
  } else {
    const auto list = nlohmann::json::parse(out ? out : "[]", nullptr, false);
    smolvm_free(out);
    const auto& defaults = list.is_array() && !list.empty()
                               ? list[0]["manifest"].value("defaults", nlohmann::json::object())
                               : nlohmann::json::object();
    for (const char* part : {"entrypoint", "cmd"}) {
      for (const auto& c : defaults.value(part, nlohmann::json::array())) {
        command.push_back(c.get<std::string>());
      }
    }
  }
  if (command.empty()) {
    throw UsageError("no command given (put it after --), and " + what +
                     " has no Entrypoint or Cmd to run instead" + why);
  }
  return command;
}

// The image command of the image vm was made from.
std::vector<std::string> vm_image_command(Runtime& rt, smolvm_vm* vm) {
  const std::filesystem::path rootfs = info_json(vm)["rootfs_path"].get<std::string>();
  return image_command(rt, rootfs.parent_path().filename().string(),
                       "the VM's image (" + rootfs.string() + ")");
}

}  // namespace

int cmd_exec(const std::vector<std::string>& argv) {
  const Args a = parse_args(argv, kExecValueFlags, {"--stdin", "--tty"}, kExecAliases);
  if (a.positional.size() != 1) throw UsageError("exec takes one VM id, then -- COMMAND");
  check_exec_args(a);
  Runtime rt;
  Vm vm(rt, a.positional[0]);
  return stream_command(vm.vm, a, a.rest);
}

int cmd_shell(const std::vector<std::string>& argv) {
  const Args a = parse_args(argv, {"--env", "--workdir", "--user"}, {},
                            {{"-e", "--env"}, {"-w", "--workdir"}, {"-u", "--user"}});
  if (a.positional.size() != 1 || a.has_rest) throw UsageError("shell takes one VM id");
  std::vector<const char*> env;
  const auto envs = a.all("--env");
  for (const auto& e : envs) env.push_back(e.c_str());
  const std::string cwd = a.get("--workdir"), user = a.get("--user");
  Runtime rt;
  Vm vm(rt, a.positional[0]);
  smolvm_exec_options o;
  smolvm_exec_options_init(&o);
  // The user's login shell when it is bash (the default image), else sh.
  o.command = "command -v bash >/dev/null && exec bash -l || exec /bin/sh -l";
  o.shell = "raw";
  o.env = env.empty() ? nullptr : env.data();
  o.env_count = env.size();
  o.cwd = cwd.empty() ? nullptr : cwd.c_str();
  o.user = user.empty() ? nullptr : user.c_str();
  return attach_terminal(vm.vm, o);
}

int cmd_run(const std::vector<std::string>& argv) {
  std::set<std::string> values = kCreateValueFlags;
  values.insert(kExecValueFlags.begin(), kExecValueFlags.end());
  const Args a = parse_args(argv, values, {"--rm", "--stdin", "--tty"}, kExecAliases);
  check_exec_args(a, false);  // a bad --timeout or --shell is refused before a VM is made
  if (!a.has("--rm")) {
    if (a.positional.size() != 1) {
      throw UsageError("run takes a VM id (or --rm for a one-shot VM), then -- COMMAND");
    }
    Runtime rt;
    Vm vm(rt, a.positional[0]);
    if (!a.rest.empty()) return stream_command(vm.vm, a, a.rest);
    return stream_command(vm.vm, a, vm_image_command(rt, vm.vm), true);
  }
  if (!a.positional.empty()) throw UsageError("run --rm makes its own VM: give no VM id");
  smolvm_vm_options o;
  std::vector<std::string> keep;
  fill_vm_options(a, o, keep);
  // Bound to this process: if it dies (SIGTERM, SIGHUP, SIGKILL, a closed
  // terminal) before the cleanup below runs, the supervisor deletes the VM.
  o.delete_with_owner = 1;
  Runtime rt;
  // Without a command, the image must have one: known before a VM is made.
  std::vector<std::string> command = a.rest;
  if (command.empty()) {
    const std::string image = o.image ? o.image : "";
    if (image.empty()) {
      throw UsageError(
          "no command given (put it after --); only an image with an Entrypoint "
          "or Cmd runs without one (--image NAME)");
    }
    command = image_command(rt, image, "image '" + image + "'");
  }
  smolvm_vm* raw = nullptr;
  check(smolvm_vm_create(&raw, rt.rt, &o));
  Vm vm(raw);
  // Whatever happens, the one-shot VM goes away.
  struct Cleanup {
    smolvm_vm* vm;
    ~Cleanup() {
      if (smolvm_vm_delete(vm) != 0) {
        std::cerr << "smolvm: could not delete " << smolvm_vm_id(vm) << ": " << smolvm_last_error()
                  << "\n";
      }
    }
  } cleanup{vm.vm};
  check(smolvm_vm_start(vm.vm));
  return stream_command(vm.vm, a, command, a.rest.empty());
}

int cmd_cp(const std::vector<std::string>& argv) {
  const Args a = parse_args(argv, {"--max-bytes", "--timeout"}, {});
  if (a.positional.size() != 2) throw UsageError("cp takes SRC and DST; one of them ID:/path");
  auto split = [](const std::string& s, std::string& id, std::string& path) {
    const auto colon = s.find(':');
    if (colon == std::string::npos || colon == 0 || s.find('/') < colon) return false;
    id = s.substr(0, colon);
    path = s.substr(colon + 1);
    return true;
  };
  smolvm_transfer_options opts;
  smolvm_transfer_options_init(&opts);
  opts.max_bytes = a.number("--max-bytes", SMOLVM_TRANSFER_MAX_BYTES_DEFAULT, 1, 1ul << 62);
  opts.timeout_ms = static_cast<uint32_t>(
      a.number("--timeout", SMOLVM_TRANSFER_TIMEOUT_MS_DEFAULT / 1000, 1, UINT32_MAX / 1000) *
      1000);
  std::string id, path, other_id, other_path;
  const bool from_vm = split(a.positional[0], id, path);
  const bool to_vm = split(a.positional[1], other_id, other_path);
  if (from_vm && to_vm) {
    throw UsageError("cp: SRC '" + a.positional[0] + "' and DST '" + a.positional[1] +
                     "' are both ID:/path; copy through a host folder, or run cp inside the VM");
  }
  Runtime rt;
  if (from_vm) {
    Vm vm(rt, id);
    check(smolvm_vm_get_ex(vm.vm, path.c_str(), a.positional[1].c_str(), &opts));
  } else if (to_vm) {
    Vm vm(rt, other_id);
    check(smolvm_vm_put_ex(vm.vm, a.positional[0].c_str(), other_path.c_str(), &opts));
  } else {
    throw UsageError("cp: one of SRC and DST must be ID:/path");
  }
  return 0;
}

}  // namespace smolvm_cli
