/* A C99 caller built against an older smolvm.h (tests/capi/abi-1.0 or
 * abi-1.1, copies of the header as it was released) and run against this
 * library: every _init, get_info and vm_create must work with its shorter
 * structs and write nothing past them. Each struct is followed by guard
 * bytes that must come back untouched. No VM is booted. */
#include <string.h>
#include <sys/stat.h>

#include "c_check.h" /* includes the old smolvm.h: its folder comes first */

#define GUARD 0xAB
#define GUARD_BYTES 64

/* A struct of the caller's own size, then guard bytes. */
#define GUARDED(type)                 \
  struct {                            \
    type value;                       \
    unsigned char guard[GUARD_BYTES]; \
  }

static int guard_intact(const unsigned char* guard) {
  size_t i;
  for (i = 0; i < GUARD_BYTES; ++i) {
    if (guard[i] != GUARD) return 0;
  }
  return 1;
}

int main(void) {
  char dir[] = "/tmp/svold-XXXXXX";
  char kernel[256], rootfs[256], state[256];
  GUARDED(smolvm_runtime_options) ro;
  GUARDED(smolvm_vm_options) vo;
  GUARDED(smolvm_vm_info) info;
  GUARDED(smolvm_exec_options) eo;
  smolvm_runtime* rt = NULL;
  smolvm_vm* vm = NULL;

  if (!mkdtemp(dir)) return 2;
  snprintf(kernel, sizeof kernel, "%s/vmlinux", dir);
  snprintf(rootfs, sizeof rootfs, "%s/rootfs.ext4", dir);
  snprintf(state, sizeof state, "%s/state", dir);
  write_zeros(kernel, 16);
  write_zeros(rootfs, 1 << 20);
  printf("built against smolvm.h %d.%d\n", SMOLVM_ABI_MAJOR, SMOLVM_ABI_MINOR);

  memset(&ro, GUARD, sizeof ro);
  CHECK(smolvm_runtime_options_init(&ro.value) == 0);
  CHECK(ro.value.struct_size <= sizeof ro.value);
  CHECK(guard_intact(ro.guard));
  ro.value.state_dir = state;
  CHECK(smolvm_runtime_open(&rt, &ro.value) == 0);

  memset(&vo, GUARD, sizeof vo);
  CHECK(smolvm_vm_options_init(&vo.value) == 0);
  CHECK(guard_intact(vo.guard));
  CHECK(vo.value.struct_size <= sizeof vo.value);
  CHECK(vo.value.vcpu_count == 2 && vo.value.mem_size_mib == 512);
  vo.value.vm_id = "old-caller";
  vo.value.kernel_path = kernel;
  vo.value.rootfs_path = rootfs;
  vo.value.mem_size_mib = 256;
  CHECK(smolvm_vm_create(&vm, rt, &vo.value) == 0);
  CHECK(guard_intact(vo.guard));

  memset(&info, GUARD, sizeof info);
  CHECK(smolvm_vm_info_init(&info.value) == 0);
  CHECK(guard_intact(info.guard));
  CHECK(info.value.struct_size <= sizeof info.value);
  CHECK(vm != NULL && smolvm_vm_get_info(&info.value, vm) == 0);
  CHECK(guard_intact(info.guard));
  CHECK(info.value.mem_size_mib == 256 && strcmp(info.value.state_name, "created") == 0);
  CHECK(strcmp(info.value.id, "old-caller") == 0);

  memset(&eo, GUARD, sizeof eo);
  CHECK(smolvm_exec_options_init(&eo.value) == 0);
  CHECK(guard_intact(eo.guard));
  CHECK(eo.value.struct_size <= sizeof eo.value && eo.value.command == NULL);

#if SMOLVM_ABI_MINOR >= 5
  {
    /* 1.5's restore options end before the lifetimes (1.6). */
    GUARDED(smolvm_restore_options) rs;
    smolvm_vm* restored = NULL;
    memset(&rs, GUARD, sizeof rs);
    CHECK(smolvm_restore_options_init(&rs.value) == 0);
    CHECK(guard_intact(rs.guard));
    CHECK(rs.value.struct_size == sizeof rs.value && rs.value.vcpu_count == 0);
    CHECK(smolvm_vm_create_from_snapshot(&restored, rt, "nope", &rs.value) == SMOLVM_ENOTFOUND);
    CHECK(restored == NULL && guard_intact(rs.guard));
  }
#endif

  CHECK(smolvm_vm_delete(vm) == 0);
  smolvm_vm_free(vm);
  smolvm_runtime_close(rt);
  return finish_checks(dir);
}
