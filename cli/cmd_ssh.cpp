// smolvm ssh: an interactive shell (or one command) in a VM created with
// --executor ssh, through the system's OpenSSH client with the VM's own key
// and its pinned host key: nothing is learned or trusted on first use here.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cli/common.h"

namespace smolvm_cli {

int cmd_ssh(const std::vector<std::string>& argv) {
  const Args a = parse_args(argv, {}, {});
  if (a.positional.size() != 1) throw UsageError("ssh takes one VM id (then -- COMMAND, optional)");
  const std::string id = a.positional[0];
  std::string dir, ip;
  {
    Runtime rt;
    Vm vm(rt, id);
    smolvm_vm_info i;
    smolvm_vm_info_init(&i);
    check(smolvm_vm_get_info(&i, vm.vm));
    if (i.state == SMOLVM_STATE_PAUSED) {
      throw ApiError(SMOLVM_ESTATE, "vm '" + id + "' is paused: resume it first");
    }
    if (std::string(i.state_name) != "running") {
      throw ApiError(SMOLVM_ESTATE, "vm '" + id + "' is " + i.state_name + ": start it first");
    }
    if (std::string(i.executor) != "ssh") {
      throw ApiError(SMOLVM_EUNSUPPORTED, "vm '" + id + "' uses executor=" + i.executor +
                                              ": only VMs created with --executor ssh have an "
                                              "SSH key and a running sshd");
    }
    dir = i.state_dir;
    ip = i.ip;
  }  // the runtime closes its store before ssh takes over this process
  const std::string key = dir + "/ssh_key", known = dir + "/known_hosts";
  struct stat st {};
  if (::stat(known.c_str(), &st) != 0) {
    throw ApiError(SMOLVM_ESTATE, "vm '" + id + "' has no pinned host key (" + known +
                                      "); it is learned when the VM starts");
  }
  std::vector<std::string> args = {"ssh",
                                   "-i",
                                   key,
                                   "-o",
                                   "IdentitiesOnly=yes",
                                   "-o",
                                   "BatchMode=yes",
                                   "-o",
                                   "UserKnownHostsFile=" + known,
                                   "-o",
                                   "GlobalKnownHostsFile=/dev/null",
                                   "-o",
                                   "StrictHostKeyChecking=yes",
                                   "-o",
                                   "HostKeyAlgorithms=ssh-ed25519",
                                   "-o",
                                   "LogLevel=ERROR",
                                   "root@" + ip};
  if (a.has_rest && !a.rest.empty()) {
    args.push_back("--");
    args.insert(args.end(), a.rest.begin(), a.rest.end());
  }
  std::vector<char*> cargs;
  for (auto& s : args) cargs.push_back(s.data());
  cargs.push_back(nullptr);
  ::execvp("ssh", cargs.data());
  throw ApiError(SMOLVM_ENOTFOUND,
                 std::string("cannot run ssh (package openssh-client): ") + std::strerror(errno));
}

}  // namespace smolvm_cli
