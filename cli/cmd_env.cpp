// smolvm env: the variables every command in a VM sees, kept with the VM.
#include <iostream>

#include "cli/common.h"

namespace smolvm_cli {

int cmd_env(const std::vector<std::string>& argv) {
  const Args a = parse_args(argv, {}, {"--json", "--replace"});
  if (a.positional.empty()) throw UsageError("env takes a VM id (see --help)");
  Runtime rt;
  Vm vm(rt, a.positional[0]);
  const std::string action = a.positional.size() > 1 ? a.positional[1] : "ls";
  std::vector<const char*> items;
  for (size_t i = 2; i < a.positional.size(); ++i) items.push_back(a.positional[i].c_str());
  if (action == "set" && !items.empty()) {
    check(smolvm_vm_env_set(vm.vm, items.data(), items.size(), a.has("--replace") ? 0 : 1));
    return 0;
  }
  if (action == "unset" && !items.empty()) {
    check(smolvm_vm_env_unset(vm.vm, items.data(), items.size()));
    return 0;
  }
  if (action != "ls" || !items.empty()) {
    throw UsageError("env: ID [ls] | ID set NAME=VALUE... | ID unset NAME...");
  }
  char* json = nullptr;
  check(smolvm_vm_env_list(&json, vm.vm));
  const auto env = nlohmann::json::parse(json);
  smolvm_free(json);
  if (a.has("--json")) {
    std::cout << env.dump(2) << "\n";
    return 0;
  }
  for (const auto& [name, value] : env.items()) {
    std::cout << name << "=" << value.get<std::string>() << "\n";
  }
  return 0;
}

}  // namespace smolvm_cli
