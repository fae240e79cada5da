/* A network plugin linked into the test program itself through the SDK's
 * static mode: it exports smolvm_plugin_network_builtin_net only, which the
 * registry finds in its own process before any plugin folder. */
#define SMOLVM_PLUGIN_STATIC 1
#include "smolvm/plugin_sdk.h"

static int probe(char* out, size_t cap, smolvm_plugin_error* err) {
  (void)err;
  if (cap) out[0] = 0;
  return 0;
}
static int noop_cfg(const smolvm_network_config* c, smolvm_plugin_error* err) {
  (void)c;
  (void)err;
  return 0;
}
static int noop_fwd(const smolvm_network_forward* f, smolvm_plugin_error* err) {
  (void)f;
  (void)err;
  return 0;
}

static const smolvm_network_vtable vt = {
    sizeof(smolvm_network_vtable), probe, noop_cfg, noop_cfg, noop_fwd, noop_fwd,
};

SMOLVM_PLUGIN_DEFINE(network, builtin_net, "2.5.0", "linked into the test program", vt)
