/* SmolVM from C, with nothing but <smolvm/smolvm.h> and libsmolvm: create a
 * VM, start it, run one command in it, print what the command wrote and its
 * exit code, and delete the VM. Every failure path prints
 * smolvm_last_error() and still deletes what was made.
 *
 *   smolvm-hello [COMMAND]   run COMMAND (default: uname -sr) in a new VM
 *   smolvm-hello --version   print the library's version; boots nothing
 *   smolvm-hello --help      this text
 *
 * Exit code: the command's, or 125 when SmolVM itself failed (as for
 * `smolvm run`). */
#include <smolvm/smolvm.h>
#include <stdio.h>
#include <string.h>

#define SMOLVM_FAILED 125
#define COMMAND_TIMEOUT_MS 60000

static int fail(const char* step) {
  fprintf(stderr, "smolvm-hello: %s: %s\n", step, smolvm_last_error());
  return SMOLVM_FAILED;
}

/* Runs command in a VM that exists only for this call. */
static int run_in_new_vm(smolvm_runtime* rt, const char* command) {
  /* The static initializer fills struct_size and the defaults this program
   * was compiled with; a newer library reads nothing past them. */
  smolvm_vm_options vo = SMOLVM_VM_OPTIONS_INIT;
  smolvm_vm* vm = NULL;
  smolvm_exec_result* res = NULL;
  int code;

  vo.mem_size_mib = 256;
  /* Should this program be killed before it deletes the VM, the VM's
   * supervisor deletes it. */
  vo.delete_with_owner = 1;
  if (smolvm_vm_create(&vm, rt, &vo) != 0) return fail("create");

  if (smolvm_vm_start(vm) != 0) {
    code = fail("start");
  } else if (smolvm_vm_run(&res, vm, command, COMMAND_TIMEOUT_MS) != 0) {
    code = fail("run");
  } else {
    fwrite(res->stdout_data, 1, res->stdout_len, stdout);
    fwrite(res->stderr_data, 1, res->stderr_len, stderr);
    printf("exit code: %d%s\n", res->exit_code, res->timed_out ? " (timed out)" : "");
    code = res->exit_code;
  }
  smolvm_exec_result_free(res);

  if (smolvm_vm_delete(vm) != 0) {
    fail("delete");
    code = SMOLVM_FAILED;
  }
  smolvm_vm_free(vm);
  return code;
}

int main(int argc, char** argv) {
  const char* command = "uname -sr";
  smolvm_runtime_options ro;
  smolvm_runtime* rt = NULL;
  int code;

  if (argc > 2 || (argc == 2 && strcmp(argv[1], "--help") == 0)) {
    fprintf(argc > 2 ? stderr : stdout,
            "usage: smolvm-hello [COMMAND]  (one argument: quote a command line)\n"
            "       smolvm-hello --version\n");
    return argc > 2 ? 2 : 0;
  }
  if (argc == 2 && strcmp(argv[1], "--version") == 0) {
    printf("libsmolvm %s\n", smolvm_version());
    return 0;
  }
  if (argc == 2) command = argv[1];

  /* The function-like macro passes the struct version this program was
   * compiled with. Defaults: $SMOLVM_STATE_DIR, $SMOLVM_CACHE_DIR, the
   * plugins installed beside libsmolvm. */
  if (smolvm_runtime_options_init(&ro) != 0) return fail("runtime options");
  if (smolvm_runtime_open(&rt, &ro) != 0) return fail("open runtime");
  code = run_in_new_vm(rt, command);
  smolvm_runtime_close(rt);
  return code;
}
