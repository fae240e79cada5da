/* A C99 program against libsmolvm.so: the ABI as a C user sees it. No VM is
 * booted; a fake image on disk is enough for create/inspect/delete. */
#include <smolvm/smolvm.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int failures = 0;
static int checks = 0;

#define CHECK(cond)                                                                           \
  do {                                                                                        \
    ++checks;                                                                                 \
    if (!(cond)) {                                                                            \
      ++failures;                                                                             \
      fprintf(stderr, "%s:%d: CHECK(%s) failed; last error: %s\n", __FILE__, __LINE__, #cond, \
              smolvm_last_error());                                                           \
    }                                                                                         \
  } while (0)

static void write_file(const char* path, size_t size) {
  FILE* f = fopen(path, "wb");
  size_t i;
  for (i = 0; f && i < size; ++i) fputc(0, f);
  if (f) fclose(f);
}

int main(void) {
  char dir[] = "/tmp/svc-XXXXXX";
  char kernel[256], rootfs[256], state[256];
  smolvm_runtime_options ro;
  smolvm_runtime* rt = NULL;
  smolvm_vm_options vo;
  smolvm_vm* vm = NULL;
  smolvm_vm* again = NULL;
  smolvm_vm_info info;
  smolvm_strarray ids;
  smolvm_exec_result* res = NULL;
  char* doctor = NULL;
  int rc;

  if (!mkdtemp(dir)) return 2;
  snprintf(kernel, sizeof kernel, "%s/vmlinux", dir);
  snprintf(rootfs, sizeof rootfs, "%s/rootfs.ext4", dir);
  snprintf(state, sizeof state, "%s/state", dir);
  write_file(kernel, 16);
  write_file(rootfs, 1 << 20);

  /* Status names and version. */
  CHECK(strcmp(smolvm_status_str(SMOLVM_EINVAL), "EINVAL") == 0);
  CHECK(strcmp(smolvm_status_str(12345), "EUNKNOWN") == 0);
  CHECK(strcmp(smolvm_vm_state_str(SMOLVM_STATE_RUNNING), "running") == 0);
  CHECK(strlen(smolvm_version()) > 0);

  /* Option structs: init fills defaults; a wrong struct_size is refused. */
  CHECK(smolvm_runtime_options_init(&ro) == 0);
  CHECK(ro.struct_size == sizeof ro);
  ro.state_dir = state;
  CHECK(smolvm_runtime_open(&rt, &ro) == 0);
  CHECK(rt != NULL);

  CHECK(smolvm_vm_options_init(&vo) == 0);
  CHECK(vo.vcpu_count == 2 && vo.mem_size_mib == 512);
  vo.struct_size = 3;
  rc = smolvm_vm_create(&vm, rt, &vo);
  CHECK(rc == SMOLVM_EINVAL);
  CHECK(strstr(smolvm_last_error(), "struct_size=3") != NULL);

  /* Bad input names field, value and range. */
  smolvm_vm_options_init(&vo);
  vo.kernel_path = kernel;
  vo.rootfs_path = rootfs;
  vo.mem_size_mib = 64;
  rc = smolvm_vm_create(&vm, rt, &vo);
  CHECK(rc == SMOLVM_EINVAL);
  CHECK(strcmp(smolvm_last_error(), "mem_size_mib=64: must be 128..16384") == 0);
  CHECK(vm == NULL);
  vo.mem_size_mib = 256;
  vo.vcpu_count = 40;
  CHECK(smolvm_vm_create(&vm, rt, &vo) == SMOLVM_EINVAL);
  CHECK(strcmp(smolvm_last_error(), "vcpu_count=40: must be 1..32") == 0);
  vo.vcpu_count = 1;
  CHECK(smolvm_vm_create(NULL, rt, &vo) == SMOLVM_EINVAL);

  /* Create, open by id, inspect, list. */
  vo.vm_id = "c-test";
  CHECK(smolvm_vm_create(&vm, rt, &vo) == 0);
  CHECK(strcmp(smolvm_vm_id(vm), "c-test") == 0);
  CHECK(smolvm_vm_create(&again, rt, &vo) == SMOLVM_EEXISTS);
  CHECK(smolvm_vm_open(&again, rt, "c-test") == 0);
  smolvm_vm_info_init(&info);
  CHECK(smolvm_vm_get_info(&info, again) == 0);
  CHECK(info.state == SMOLVM_STATE_CREATED);
  CHECK(strcmp(info.state_name, "created") == 0);
  CHECK(info.vcpu_count == 1 && info.mem_size_mib == 256);
  CHECK(strcmp(info.disk_mode, "isolated") == 0);
  CHECK(strcmp(info.vmm, "qemu") == 0);
  CHECK(strlen(info.disk_path) > 0);
  CHECK(info.supervisor_pid == 0);
  CHECK(info.disk_size_mib == 1); /* the 1 MiB image's own size */
  {
    /* A caller built against ABI 1.0 passes the struct without
     * disk_size_mib: accepted, and nothing past its end is written. */
    union {
      smolvm_vm_info info;
      unsigned char bytes[sizeof(smolvm_vm_info)];
    } old;
    const size_t v10 = offsetof(smolvm_vm_info, disk_size_mib);
    size_t k;
    memset(&old, 0xAB, sizeof old);
    old.info.struct_size = (uint32_t)v10;
    CHECK(smolvm_vm_get_info(&old.info, again) == 0);
    CHECK(old.info.vcpu_count == 1 && strcmp(old.info.state_name, "created") == 0);
    for (k = v10; k < sizeof old; ++k) CHECK(old.bytes[k] == 0xAB);
  }
  CHECK(smolvm_runtime_list(&ids, rt) == 0);
  CHECK(ids.count == 1 && strcmp(ids.strings[0], "c-test") == 0);
  smolvm_strarray_dispose(&ids);
  CHECK(ids.strings == NULL && ids.count == 0);

  /* Commands need a running VM: a state error, not a crash. */
  rc = smolvm_vm_run(&res, vm, "true", 0);
  CHECK(rc == SMOLVM_ESTATE);
  CHECK(strstr(smolvm_last_error(), "is created") != NULL);
  CHECK(res == NULL);
  CHECK(smolvm_vm_run(&res, vm, NULL, 0) == SMOLVM_EINVAL);
  /* Stopping a VM that never ran is a no-op. */
  CHECK(smolvm_vm_stop(vm, 0) == 0);
  /* Since 1.2: detaching a VM that is not ephemeral is a no-op too. */
  CHECK(smolvm_vm_detach(vm) == 0);
  CHECK(smolvm_vm_detach(NULL) == SMOLVM_EINVAL);
  {
    /* A 1.1 caller's options end before delete_with_owner: accepted,
     * whatever lies past the struct (which is never read). */
    union {
      smolvm_vm_options o;
      unsigned char bytes[sizeof(smolvm_vm_options)];
    } old;
    smolvm_vm* v11 = NULL;
    smolvm_vm_options_init(&old.o);
    memset(old.bytes + offsetof(smolvm_vm_options, delete_with_owner), 0xAB,
           sizeof old - offsetof(smolvm_vm_options, delete_with_owner));
    old.o.struct_size = (uint32_t)offsetof(smolvm_vm_options, delete_with_owner);
    old.o.vm_id = "c-v11";
    old.o.mem_size_mib = 256;
    old.o.kernel_path = vo.kernel_path;
    old.o.rootfs_path = vo.rootfs_path;
    CHECK(smolvm_vm_create(&v11, rt, &old.o) == 0);
    CHECK(smolvm_vm_get_info(&info, v11) == 0);
    CHECK(strstr(info.state_name, "created") != NULL);
    CHECK(smolvm_vm_delete(v11) == 0);
    smolvm_vm_free(v11);
  }

  /* Missing ids. (An open sets *out first: free the handle it would drop.) */
  smolvm_vm_free(again);
  CHECK(smolvm_vm_open(&again, rt, "no-such-vm") == SMOLVM_ENOTFOUND);
  CHECK(again == NULL);
  CHECK(strstr(smolvm_last_error(), "no-such-vm") != NULL);
  CHECK(smolvm_vm_open(&again, rt, "Bad Id") == SMOLVM_EINVAL);

  /* Delete, twice. */
  CHECK(smolvm_vm_delete(vm) == 0);
  CHECK(smolvm_vm_delete(vm) == SMOLVM_ENOTFOUND);
  smolvm_vm_free(vm);
  smolvm_vm_free(again);
  smolvm_vm_free(NULL);

  /* Doctor works without a runtime and returns JSON. */
  CHECK(smolvm_doctor(&doctor, NULL) == 0);
  CHECK(doctor && strstr(doctor, "\"checks\"") != NULL);
  {
    /* The report says whether the host forwards IPv4, as the kernel does. */
    FILE* f = fopen("/proc/sys/net/ipv4/ip_forward", "r");
    int on = f ? fgetc(f) == '1' : 0;
    if (f) fclose(f);
    /* network.ip_forward (the report is indented JSON). */
    CHECK(doctor && strstr(doctor, on ? "\"ip_forward\": true" : "\"ip_forward\": false") != NULL);
  }
  smolvm_free(doctor);

  smolvm_runtime_close(rt);
  {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "cleanup of %s failed\n", dir);
  }
  printf("%d passed, %d failed\n", checks - failures, failures);
  return failures ? 1 : 0;
}
