// What the supervisor asks of a VMM plugin's optional pause slots (plugin ABI
// 1.4): a plugin built for an older minor, or one that leaves them NULL,
// cannot pause, and asking says so instead of calling past its vtable.
#include "core/supervisor/vmm_process.h"

#include <gtest/gtest.h>

#include <cstddef>

namespace smolvm {
namespace {

int pause_slot(void*, smolvm_plugin_error*) { return 0; }

TEST(VmmProcess, PausesOnlyThroughAVtableThatHasBothSlots) {
  smolvm_vmm_vtable vt{};
  vt.pause = pause_slot;
  vt.resume = pause_slot;
  // A 1.3 plugin: its vtable ends with cleanup, whatever lies beyond.
  vt.struct_size = offsetof(smolvm_vmm_vtable, pause);
  EXPECT_FALSE(VmmProcess(vt).can_pause());
  vt.struct_size = sizeof vt;
  EXPECT_TRUE(VmmProcess(vt).can_pause());
  vt.resume = nullptr;  // half a pair is none
  EXPECT_FALSE(VmmProcess(vt).can_pause());
}

TEST(VmmProcess, SetPausedWithoutTheSlotsIsUnsupported) {
  smolvm_vmm_vtable vt{};
  vt.struct_size = offsetof(smolvm_vmm_vtable, pause);
  VmmProcess vmm(vt);
  std::string message;
  EXPECT_EQ(vmm.set_paused(true, message), SMOLVM_EUNSUPPORTED);
  EXPECT_FALSE(message.empty());
}

}  // namespace
}  // namespace smolvm
