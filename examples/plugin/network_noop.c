/* network-noop: an out-of-tree SmolVM network plugin, in C, built against
 * nothing but an installed SmolVM (find_package(SmolVM), SmolVM::plugin_sdk).
 * It sets up nothing on the host: the VM gets its NIC and address, but the
 * TAP behind it is never brought up or routed, so the guest sees no carrier
 * and reaches nothing. Each call is appended to the file named by
 * $SMOLVM_NOOP_LOG when that is set, so a test can see the host call it. */
#include <stdio.h>
#include <stdlib.h>

#include "smolvm/plugin_sdk.h"
#include "smolvm/sdk/error.h"

/* Appends "<what> <vm id>" to $SMOLVM_NOOP_LOG; SMOLVM_EIO when it cannot. */
static int note(const char* what, const char* vm_id, smolvm_plugin_error* err) {
  const char* path = getenv("SMOLVM_NOOP_LOG");
  if (!path || !*path) return 0;
  FILE* f = fopen(path, "a");
  if (!f) return smolvm_plugin_set_error(err, SMOLVM_EIO, "cannot open %s", path);
  fprintf(f, "%s %s\n", what, vm_id ? vm_id : "-");
  return fclose(f) == 0 ? 0 : smolvm_plugin_set_error(err, SMOLVM_EIO, "cannot write %s", path);
}

/* Always available, and ranked below every real network plugin (0), so
 * network=auto never picks it; a VM asks for it by name. */
static int probe(char* out_json, size_t cap, smolvm_plugin_error* err) {
  const int n =
      snprintf(out_json, cap, "{\"available\":true,\"binary\":\"\",\"reason\":\"\",\"rank\":-1}");
  if (n < 0 || (size_t)n >= cap) {
    return smolvm_plugin_set_error(err, SMOLVM_EINVAL, "probe: %zu bytes is too small", cap);
  }
  return 0;
}

static int setup(const smolvm_network_config* cfg, smolvm_plugin_error* err) {
  return note("setup", cfg ? cfg->vm_id : NULL, err);
}

static int teardown(const smolvm_network_config* cfg, smolvm_plugin_error* err) {
  return note("teardown", cfg ? cfg->vm_id : NULL, err);
}

static int forward_add(const smolvm_network_forward* fwd, smolvm_plugin_error* err) {
  (void)fwd;
  return smolvm_plugin_set_error(err, SMOLVM_EUNSUPPORTED,
                                 "forward_add: network-noop gives the VM no network to forward to");
}

static int forward_remove(const smolvm_network_forward* fwd, smolvm_plugin_error* err) {
  return note("forward_remove", fwd ? fwd->vm_id : NULL, err);
}

static const smolvm_network_vtable vtable = {
    sizeof(smolvm_network_vtable), probe, setup, teardown, forward_add, forward_remove,
};

SMOLVM_PLUGIN_DEFINE(network, noop, "1.0.0", "no network at all; notes each call (example)", vtable)
