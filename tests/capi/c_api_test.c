/* A C99 program against libsmolvm.so: the ABI as a C user sees it. No VM is
 * booted; a fake image on disk is enough for create/inspect/delete. */
#include <smolvm/smolvm.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "c_check.h"

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
  write_zeros(kernel, 16);
  write_zeros(rootfs, 1 << 20);

  /* Status names and version. */
  CHECK(strcmp(smolvm_status_str(SMOLVM_EINVAL), "EINVAL") == 0);
  CHECK(strcmp(smolvm_status_str(12345), "EUNKNOWN") == 0);
  CHECK(strcmp(smolvm_vm_state_str(SMOLVM_STATE_RUNNING), "running") == 0);
  CHECK(strcmp(smolvm_vm_state_str(SMOLVM_STATE_PAUSED), "paused") == 0);
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

  /* Versions compiled into the caller: init takes this header's version, a
   * static initializer matches it, and a version newer than the library
   * is refused with both named. */
  {
    smolvm_vm_options fixed = SMOLVM_VM_OPTIONS_INIT;
    smolvm_vm_info empty = SMOLVM_VM_INFO_INIT;
    smolvm_vm_options fresh;
    CHECK(smolvm_vm_options_init(&fresh) == 0);
    CHECK(fixed.struct_size == fresh.struct_size && fixed.vcpu_count == fresh.vcpu_count &&
          fixed.mem_size_mib == fresh.mem_size_mib);
    CHECK(empty.struct_size == sizeof empty);
    CHECK(smolvm_vm_options_init_version(&fixed, SMOLVM_VM_OPTIONS_VERSION + 1) == SMOLVM_EINVAL);
    CHECK(strstr(smolvm_last_error(), "vm options version") != NULL);
    CHECK(strstr(smolvm_last_error(), "newer smolvm.h") != NULL);
    CHECK(smolvm_vm_info_init_version(&empty, 0) == SMOLVM_EINVAL);
  }

  /* Exec options 1.2 append `shell`: version 1 (1.0) stops before it. */
  {
    smolvm_exec_options v1, v2;
    CHECK(smolvm_exec_options_init_version(&v1, 1) == 0);
    CHECK(v1.struct_size == offsetof(smolvm_exec_options, shell));
    CHECK(smolvm_exec_options_init(&v2) == 0);
    CHECK(v2.struct_size == sizeof v2 && v2.shell == NULL);
    /* 1.6 appends user, pty_rows, pty_cols, term: version 2 stops before. */
    CHECK(smolvm_exec_options_init_version(&v1, 2) == 0);
    CHECK(v1.struct_size == offsetof(smolvm_exec_options, user));
    CHECK(v2.user == NULL && v2.pty_rows == 0 && v2.pty_cols == 0 && v2.term == NULL);
    CHECK(SMOLVM_EXEC_OPTIONS_VERSION == 3);
    /* No VM needed to refuse: a NULL stream is named. */
    CHECK(smolvm_exec_resize(NULL, 24, 80) == SMOLVM_EINVAL);
  }

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
  /* An image path that is not a file says what it is instead. */
  vo.kernel_path = dir;
  CHECK(smolvm_vm_create(&vm, rt, &vo) == SMOLVM_EINVAL);
  CHECK(strstr(smolvm_last_error(), "': is a folder; name the image file in it") != NULL);
  vo.kernel_path = kernel;
  vo.rootfs_path = "/dev/zero";
  CHECK(smolvm_vm_create(&vm, rt, &vo) == SMOLVM_EINVAL);
  CHECK(strcmp(smolvm_last_error(),
               "rootfs_path='/dev/zero': not a regular file (a device, FIFO or socket)") == 0);
  vo.rootfs_path = rootfs;
  /* NULL asks for a generated id; "" is refused with the rule. */
  vo.vm_id = "";
  CHECK(smolvm_vm_create(&vm, rt, &vo) == SMOLVM_EINVAL);
  CHECK(strstr(smolvm_last_error(), "vm_id='': must match [a-z0-9][a-z0-9-]{0,62}") != NULL);
  CHECK(vm == NULL);

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
  /* Since 1.2: transfer bounds, defaults defined once; a bad struct_size is
   * refused before anything else. */
  {
    smolvm_transfer_options to;
    CHECK(smolvm_transfer_options_init(&to) == 0);
    CHECK(to.struct_size == sizeof to);
    CHECK(to.max_bytes == SMOLVM_TRANSFER_MAX_BYTES_DEFAULT && to.max_bytes == 1073741824u);
    CHECK(to.timeout_ms == SMOLVM_TRANSFER_TIMEOUT_MS_DEFAULT && to.timeout_ms == 300000u);
    CHECK(smolvm_vm_get_ex(vm, "/etc", "/tmp/never", &to) == SMOLVM_ESTATE);
    to.struct_size = 3;
    CHECK(smolvm_vm_get_ex(vm, "/etc", "/tmp/never", &to) == SMOLVM_EINVAL);
    CHECK(strstr(smolvm_last_error(), "transfer options.struct_size=3") != NULL);
  }
  /* Stopping a VM that never ran is a no-op. */
  CHECK(smolvm_vm_stop(vm, 0) == 0);
  /* Since 1.2: detaching a VM that is not ephemeral is a no-op too. */
  CHECK(smolvm_vm_detach(vm) == 0);
  CHECK(smolvm_vm_detach(NULL) == SMOLVM_EINVAL);
  /* Since 1.4: only a running VM pauses, only a paused one resumes; the
   * refusal names the state. */
  CHECK(smolvm_vm_pause(vm) == SMOLVM_ESTATE);
  CHECK(strstr(smolvm_last_error(), "is created: only a running VM can be paused") != NULL);
  CHECK(smolvm_vm_resume(vm) == SMOLVM_ESTATE);
  CHECK(strstr(smolvm_last_error(), "is created: only a paused VM can be resumed") != NULL);
  CHECK(smolvm_vm_pause(NULL) == SMOLVM_EINVAL);
  CHECK(smolvm_vm_resume(NULL) == SMOLVM_EINVAL);
  {
    /* Since 1.5: only a running or paused VM is snapshotted, naming the
     * state; nothing is made; unknown snapshots are named. */
    char* snap = (char*)"untouched";
    char* json = NULL;
    smolvm_snapshot_options so = SMOLVM_SNAPSHOT_OPTIONS_INIT;
    smolvm_restore_options restore;
    smolvm_vm* restored = NULL;
    CHECK(smolvm_vm_snapshot(&snap, vm, &so) == SMOLVM_ESTATE);
    CHECK(snap == NULL);
    CHECK(strstr(smolvm_last_error(),
                 "is created: only a running or paused VM can be snapshotted") != NULL);
    CHECK(smolvm_vm_snapshot(NULL, vm, NULL) == SMOLVM_EINVAL);
    CHECK(smolvm_snapshot_list(&json, rt) == 0);
    CHECK(json != NULL && strcmp(json, "[]") == 0);
    smolvm_free(json);
    CHECK(smolvm_snapshot_inspect(&json, rt, "nope") == SMOLVM_ENOTFOUND);
    CHECK(strstr(smolvm_last_error(), "snapshot 'nope' not found") != NULL);
    CHECK(smolvm_snapshot_delete(rt, "nope") == SMOLVM_ENOTFOUND);
    CHECK(smolvm_restore_options_init(&restore) == 0);
    CHECK(restore.struct_size == sizeof restore && restore.vcpu_count == 0 &&
          restore.mem_size_mib == 0);
    /* Since 1.6: no lifetimes unless given. */
    CHECK(restore.ttl_s == 0 && restore.idle_timeout_s == 0 && restore.on_ttl == NULL &&
          restore.on_idle == NULL);
    CHECK(smolvm_vm_create_from_snapshot(&restored, rt, "nope", &restore) == SMOLVM_ENOTFOUND);
    CHECK(restored == NULL);
    CHECK(smolvm_vm_create_from_snapshot(&restored, rt, NULL, NULL) == SMOLVM_EINVAL);
  }
  {
    /* Named images (1.6), in a cache of the test's own that has none. */
    char cache[256];
    char* json = NULL;
    smolvm_runtime_options co;
    smolvm_runtime* crt = NULL;
    smolvm_vm_options io;
    smolvm_vm* named = NULL;
    snprintf(cache, sizeof cache, "%s/cache", dir);
    CHECK(smolvm_runtime_options_init(&co) == 0);
    co.state_dir = state;
    co.cache_dir = cache;
    CHECK(smolvm_runtime_open(&crt, &co) == 0);
    CHECK(smolvm_image_list(&json, crt, NULL) == 0);
    CHECK(json != NULL && strcmp(json, "[]") == 0);
    smolvm_free(json);
    json = NULL;
    CHECK(smolvm_image_list(&json, crt, "nope") == SMOLVM_ENOTFOUND && json == NULL);
    CHECK(strstr(smolvm_last_error(), "image='nope': no such image") != NULL);
    CHECK(smolvm_image_remove(crt, "nope") == SMOLVM_ENOTFOUND);
    CHECK(smolvm_image_remove(crt, NULL) == SMOLVM_EINVAL);
    CHECK(smolvm_vm_options_init(&io) == 0);
    CHECK(io.struct_size == sizeof io && io.image == NULL);
    io.image = "nope";
    CHECK(smolvm_vm_create(&named, crt, &io) == SMOLVM_ENOTFOUND && named == NULL);
    CHECK(strstr(smolvm_last_error(), "image='nope': no such image") != NULL);
    io.image = "Bad/Name";
    CHECK(smolvm_vm_create(&named, crt, &io) == SMOLVM_EINVAL);
    CHECK(strstr(smolvm_last_error(), "image='Bad/Name': must match") != NULL);
    io.image = "py";
    io.rootfs_path = rootfs;
    CHECK(smolvm_vm_create(&named, crt, &io) == SMOLVM_EINVAL);
    CHECK(strstr(smolvm_last_error(), "a named image brings its own rootfs") != NULL);
    smolvm_runtime_close(crt);
  }
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

  /* The plugin listing, from the runtime's search path; a missing out
   * parameter is refused by name. */
  {
    char* plugins = NULL;
    CHECK(smolvm_plugins_inspect(&plugins, rt) == 0);
    CHECK(plugins && strstr(plugins, "\"name\": \"qemu\"") != NULL);
    CHECK(plugins && strstr(plugins, "\"search_path\"") != NULL);
    smolvm_free(plugins);
    CHECK(smolvm_plugins_inspect(NULL, rt) == SMOLVM_EINVAL);
    CHECK(strstr(smolvm_last_error(), "out_json") != NULL);
  }

  smolvm_runtime_close(rt);
  return finish_checks(dir);
}
