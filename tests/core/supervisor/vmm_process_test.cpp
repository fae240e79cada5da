// What the supervisor asks of a VMM plugin's optional slots (pause/resume,
// plugin ABI 1.4; save_state/launch_restore, 1.5): a plugin built for an
// older minor, or one that leaves them NULL, cannot pause or snapshot, and
// asking says so instead of calling past its vtable.
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

int save_slot(void*, int, smolvm_plugin_error*) { return 0; }
int restore_slot(void**, const smolvm_vmm_config*, int, smolvm_plugin_error*) { return 0; }

TEST(VmmProcess, SnapshotsOnlyThroughAVtableThatHasBothSlots) {
  smolvm_vmm_vtable vt{};
  vt.save_state = save_slot;
  vt.launch_restore = restore_slot;
  // A 1.4 plugin: its vtable ends with resume, whatever lies beyond.
  vt.struct_size = offsetof(smolvm_vmm_vtable, save_state);
  EXPECT_FALSE(VmmProcess(vt).can_snapshot());
  vt.struct_size = sizeof vt;
  EXPECT_TRUE(VmmProcess(vt).can_snapshot());
  vt.launch_restore = nullptr;  // a snapshot no VM can be restored from is none
  EXPECT_FALSE(VmmProcess(vt).can_snapshot());
}

}  // namespace
}  // namespace smolvm
