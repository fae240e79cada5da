#include "core/plugins/vtable_contract.h"

#include "smolvm/plugin.h"

namespace smolvm {
namespace {

// The byte just past `slot` in vtable `type`.
#define SLOT_END(type, slot) (offsetof(type, slot) + sizeof(((type*)0)->slot))

struct MinorRequirement {
  uint32_t since_minor;
  size_t min_size;
};

// One row per minor that made more slots mandatory, oldest first. A minor
// absent from a list requires what the row before it does. Appending an
// optional slot adds no row; appending a mandatory one adds a row for the
// new minor, so plugins that declare an older one keep loading.
constexpr MinorRequirement kStore[] = {{0, SLOT_END(smolvm_store_vtable, process_list)}};
// cleanup (1.3), pause and resume (1.4), save_state and launch_restore (1.5)
// are optional: core checks SMOLVM_VMM_HAS and refuses what needs them.
constexpr MinorRequirement kVmm[] = {{0, SLOT_END(smolvm_vmm_vtable, release)}};
// file_read_bounded and file_write_bounded (1.2) are optional: core falls
// back to file_read and file_write. probe (1.3) and the VM hooks vm_created,
// vm_booting and vm_ready (1.4) are optional too.
constexpr MinorRequirement kExecutor[] = {{0, SLOT_END(smolvm_executor_vtable, file_read)}};
constexpr MinorRequirement kNetwork[] = {{0, SLOT_END(smolvm_network_vtable, forward_remove)}};

template <size_t N>
size_t required(const MinorRequirement (&rows)[N], uint32_t minor) {
  size_t need = 0;
  for (const auto& r : rows) {
    if (r.since_minor <= minor) need = r.min_size;
  }
  return need;
}

#define REQUIRE(vt, slot) \
  if (!(vt)->slot) return #slot

std::string missing_store(const smolvm_store_vtable* v) {
  REQUIRE(v, open);
  REQUIRE(v, close);
  REQUIRE(v, vm_insert);
  REQUIRE(v, vm_update);
  REQUIRE(v, vm_get);
  REQUIRE(v, vm_list);
  REQUIRE(v, vm_delete);
  REQUIRE(v, lease_acquire);
  REQUIRE(v, lease_release);
  REQUIRE(v, lease_list);
  REQUIRE(v, forward_add);
  REQUIRE(v, forward_remove);
  REQUIRE(v, forward_list);
  REQUIRE(v, process_set);
  REQUIRE(v, process_clear);
  REQUIRE(v, process_list);
  return "";
}

std::string missing_vmm(const smolvm_vmm_vtable* v) {
  REQUIRE(v, probe);
  REQUIRE(v, prepare_disk);
  REQUIRE(v, launch);
  REQUIRE(v, pid);
  REQUIRE(v, agent_connect);
  REQUIRE(v, kill);
  REQUIRE(v, release);
  return "";
}

std::string missing_executor(const smolvm_executor_vtable* v) {
  REQUIRE(v, connect);
  REQUIRE(v, disconnect);
  REQUIRE(v, exec_start);
  REQUIRE(v, exec_next_event);
  REQUIRE(v, exec_write_stdin);
  REQUIRE(v, exec_close_stdin);
  REQUIRE(v, exec_kill);
  REQUIRE(v, exec_free);
  REQUIRE(v, file_write);
  REQUIRE(v, file_read);
  return "";
}

std::string missing_network(const smolvm_network_vtable* v) {
  REQUIRE(v, probe);
  REQUIRE(v, setup);
  REQUIRE(v, teardown);
  REQUIRE(v, forward_add);
  REQUIRE(v, forward_remove);
  return "";
}

#undef REQUIRE
#undef SLOT_END

}  // namespace

size_t required_vtable_size(uint32_t kind, uint32_t abi_minor) {
  switch (kind) {
    case SMOLVM_PLUGIN_STORE:
      return required(kStore, abi_minor);
    case SMOLVM_PLUGIN_VMM:
      return required(kVmm, abi_minor);
    case SMOLVM_PLUGIN_EXECUTOR:
      return required(kExecutor, abi_minor);
    case SMOLVM_PLUGIN_NETWORK:
      return required(kNetwork, abi_minor);
  }
  return 0;
}

std::string missing_mandatory_slot(uint32_t kind, const void* vt) {
  switch (kind) {
    case SMOLVM_PLUGIN_STORE:
      return missing_store(static_cast<const smolvm_store_vtable*>(vt));
    case SMOLVM_PLUGIN_VMM:
      return missing_vmm(static_cast<const smolvm_vmm_vtable*>(vt));
    case SMOLVM_PLUGIN_EXECUTOR:
      return missing_executor(static_cast<const smolvm_executor_vtable*>(vt));
    case SMOLVM_PLUGIN_NETWORK:
      return missing_network(static_cast<const smolvm_network_vtable*>(vt));
  }
  return "";
}

}  // namespace smolvm
