/* Snapshots from C: boot one VM, prepare it (a file in its disk, a value in
 * its memory: a shell variable would not survive, so a file in /dev/shm),
 * snapshot it, and restore N new VMs from the snapshot. Each restored VM
 * runs on from the snapshot's moment with its own disk, id and random
 * numbers; the program prints what each one sees, then deletes them all.
 *
 *   smolvm-fork [N]   N restored VMs (default 2, at most 8)
 *
 * Exit code: 0, or 125 when SmolVM failed. */
#include <smolvm/smolvm.h>
#include <stdio.h>
#include <stdlib.h>

#define SMOLVM_FAILED 125
#define MAX_FORKS 8
#define COMMAND_TIMEOUT_MS 60000

static int fail(const char* step) {
  fprintf(stderr, "smolvm-fork: %s: %s\n", step, smolvm_last_error());
  return SMOLVM_FAILED;
}

static int run(smolvm_vm* vm, const char* command) {
  smolvm_exec_result* res = NULL;
  if (smolvm_vm_run(&res, vm, command, COMMAND_TIMEOUT_MS) != 0) return fail("run");
  printf("%s: %.*s", smolvm_vm_id(vm), (int)res->stdout_len, res->stdout_data);
  smolvm_exec_result_free(res);
  return 0;
}

static int fork_from(smolvm_runtime* rt, const char* snapshot, int n) {
  smolvm_vm* forks[MAX_FORKS] = {NULL};
  int code = 0;
  int i;
  for (i = 0; i < n && code == 0; ++i) {
    /* NULL options: the snapshot's machine, a generated id. */
    if (smolvm_vm_create_from_snapshot(&forks[i], rt, snapshot, NULL) != 0) {
      code = fail("create from snapshot");
    } else if (smolvm_vm_start(forks[i]) != 0) {
      code = fail("start (restore)");
    } else {
      code = run(forks[i],
                 "echo \"$(cat /root/note) $(cat /dev/shm/counter)"
                 " $(cat /proc/sys/kernel/random/uuid)\"");
    }
  }
  for (i = 0; i < n; ++i) {
    if (forks[i] && smolvm_vm_delete(forks[i]) != 0 && code == 0) code = fail("delete");
    smolvm_vm_free(forks[i]);
  }
  return code;
}

int main(int argc, char** argv) {
  const int n = argc > 1 ? atoi(argv[1]) : 2;
  smolvm_runtime* rt = NULL;
  smolvm_vm* vm = NULL;
  smolvm_vm_options vo = SMOLVM_VM_OPTIONS_INIT;
  smolvm_snapshot_options so = SMOLVM_SNAPSHOT_OPTIONS_INIT;
  char* snapshot = NULL;
  int code;

  if (n < 1 || n > MAX_FORKS) {
    fprintf(stderr, "usage: smolvm-fork [N]   (N: 1..%d)\n", MAX_FORKS);
    return 2;
  }
  if (smolvm_runtime_open(&rt, NULL) != 0) return fail("runtime");
  vo.mem_size_mib = 256;
  vo.delete_with_owner = 1;
  if (smolvm_vm_create(&vm, rt, &vo) != 0) {
    code = fail("create");
  } else if (smolvm_vm_start(vm) != 0) {
    code = fail("start");
  } else if ((code = run(vm,
                         "echo prepared > /root/note; echo 42 > /dev/shm/counter;"
                         " echo ready")) != 0) {
  } else if (smolvm_vm_snapshot(&snapshot, vm, &so) != 0) {
    code = fail("snapshot");
  } else {
    printf("snapshot %s\n", snapshot);
    code = fork_from(rt, snapshot, n);
    if (smolvm_snapshot_delete(rt, snapshot) != 0 && code == 0) code = fail("snapshot delete");
  }
  smolvm_free(snapshot);
  if (vm && smolvm_vm_delete(vm) != 0 && code == 0) code = fail("delete");
  smolvm_vm_free(vm);
  smolvm_runtime_close(rt);
  return code;
}
