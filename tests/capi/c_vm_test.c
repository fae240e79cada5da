/* The C ABI against a real VM (label "vm"; needs the default guest image,
 * `smolvm image build`): requests that must be refused before anything is
 * sent, a handle that survives a lost connection, and a VMM's own reason
 * for refusing to boot. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "c_check.h"
#include "smolvm/smolvm.h"

static int starts_with(const char* s, const char* prefix) {
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Runs command and checks that it succeeds with stdout == want. */
static void expect_output(smolvm_vm* vm, const char* command, const char* want) {
  smolvm_exec_result* res = NULL;
  const int rc = smolvm_vm_run(&res, vm, command, 30000);
  CHECK(rc == 0);
  CHECK(res && res->exit_code == 0 && strcmp((const char*)res->stdout_data, want) == 0);
  smolvm_exec_result_free(res);
}

static void oversized_requests(smolvm_vm* vm) {
  const size_t big = (size_t)2 << 20;
  char* command = malloc(big + 6);
  char* env = malloc(big + 5);
  const char* envs[1];
  smolvm_exec_options o;
  smolvm_exec_result* res = NULL;
  char want[200];
  if (!command || !env) abort();
  memcpy(command, "echo ", 5);
  memset(command + 5, 'x', big);
  command[big + 5] = 0;
  CHECK(smolvm_vm_run(&res, vm, command, 0) == SMOLVM_EINVAL);
  CHECK(res == NULL);
  snprintf(want, sizeof want,
           "command: %zu bytes; a command's argv, command, env and cwd must fit in %d bytes "
           "together",
           big + 5, SMOLVM_EXEC_REQUEST_MAX_BYTES);
  CHECK(starts_with(smolvm_last_error(), want));

  memcpy(env, "BIG=", 4);
  memset(env + 4, 'v', big);
  env[big + 4] = 0;
  envs[0] = env;
  smolvm_exec_options_init(&o);
  o.command = "true";
  o.env = envs;
  o.env_count = 1;
  CHECK(smolvm_vm_exec(&res, vm, &o) == SMOLVM_EINVAL);
  CHECK(starts_with(smolvm_last_error(), "env BIG: 2097156 bytes; "));
  free(command);
  free(env);
  /* Nothing was sent: the same handle goes on working. */
  expect_output(vm, "echo still usable", "still usable\n");
}

/* Text in the C ABI is NUL-terminated, so it cannot hold a NUL; data is
 * (pointer, length) and may: stdin and file contents pass through whole. */
static void nul_in_data(smolvm_vm* vm) {
  static const uint8_t data[] = {'a', 0, 'b'};
  const char* argv[] = {"cat"};
  smolvm_exec_options o;
  smolvm_exec_result* res = NULL;
  smolvm_buf buf;
  smolvm_exec_options_init(&o);
  o.argv = argv;
  o.argc = 1;
  o.stdin_data = data;
  o.stdin_len = sizeof data;
  CHECK(smolvm_vm_exec(&res, vm, &o) == 0);
  CHECK(res && res->stdout_len == 3 && memcmp(res->stdout_data, data, 3) == 0);
  smolvm_exec_result_free(res);
  CHECK(smolvm_vm_write_file(vm, "/tmp/nul-data", data, sizeof data, 0) == 0);
  CHECK(smolvm_vm_read_file(&buf, vm, "/tmp/nul-data") == 0);
  CHECK(buf.size == 3 && memcmp(buf.data, data, 3) == 0);
  smolvm_buf_dispose(&buf);
}

/* Another handle restarts the VM; this handle's connection is gone. One
 * call may fail on it; the next ones must connect afresh. */
static void lost_connection(smolvm_runtime* rt, smolvm_vm* vm) {
  smolvm_vm* other = NULL;
  smolvm_exec_result* res = NULL;
  expect_output(vm, "echo before", "before\n");
  CHECK(smolvm_vm_open(&other, rt, smolvm_vm_id(vm)) == 0);
  CHECK(smolvm_vm_stop(other, 10000) == 0);
  CHECK(smolvm_vm_start(other) == 0);
  smolvm_vm_free(other);
  if (smolvm_vm_run(&res, vm, "true", 30000) == 0) {
    smolvm_exec_result_free(res);
  } else {
    fprintf(stderr, "the first call after the restart failed: %s\n", smolvm_last_error());
  }
  expect_output(vm, "echo after", "after\n");
  expect_output(vm, "echo and after", "and after\n");
}

/* The VM's environment: set through one handle, seen by commands through
 * another handle (whose session was opened before the change); a bad
 * entry changes nothing; unset and replace. */
static void environment(smolvm_runtime* rt, smolvm_vm* vm) {
  const char* set[] = {"GREETING=hello world", "EMPTY="};
  const char* bad[] = {"OK=1", "2BAD=x"};
  const char* unset[] = {"EMPTY", "NEVER_SET"};
  const char* replace[] = {"ONLY=1"};
  smolvm_vm* other = NULL;
  char* json = NULL;
  CHECK(smolvm_vm_open(&other, rt, smolvm_vm_id(vm)) == 0);
  expect_output(other, "echo \"[$GREETING]\"", "[]\n");
  CHECK(smolvm_vm_env_set(vm, set, 2, 1) == 0);
  expect_output(other, "echo \"[$GREETING]\"", "[hello world]\n");
  CHECK(smolvm_vm_env_set(vm, bad, 2, 1) == SMOLVM_EINVAL);
  CHECK(strstr(smolvm_last_error(), "env name '2BAD'") != NULL);
  CHECK(smolvm_vm_env_list(&json, other) == 0);
  CHECK(json && strcmp(json, "{\"EMPTY\":\"\",\"GREETING\":\"hello world\"}") == 0);
  smolvm_free(json);
  CHECK(smolvm_vm_env_unset(vm, unset, 2) == 0);
  CHECK(smolvm_vm_env_list(&json, vm) == 0);
  CHECK(json && strcmp(json, "{\"GREETING\":\"hello world\"}") == 0);
  smolvm_free(json);
  CHECK(smolvm_vm_env_set(vm, replace, 1, 0) == 0);
  expect_output(other, "echo \"[$GREETING][$ONLY]\"", "[][1]\n");
  CHECK(smolvm_vm_env_set(vm, NULL, 1, 1) == SMOLVM_EINVAL);
  smolvm_vm_free(other);
}

/* smolvm_vm_start_ex: a boot timeout of its own, for that start only. */
static void start_with_timeout(smolvm_runtime* rt) {
  smolvm_vm_options vo;
  smolvm_start_options so = SMOLVM_START_OPTIONS_INIT;
  smolvm_start_options bad;
  smolvm_vm* vm = NULL;
  smolvm_vm_options_init(&vo);
  vo.mem_size_mib = 256;
  vo.vcpu_count = 1;
  vo.vm_id = "c-start-ex";
  CHECK(smolvm_vm_create(&vm, rt, &vo) == 0);
  so.boot_timeout_ms = 1;
  CHECK(smolvm_vm_start_ex(vm, &so) == SMOLVM_ETIMEOUT);
  CHECK(strstr(smolvm_last_error(), "within 1 ms") != NULL);
  CHECK(smolvm_start_options_init(&so) == 0 && so.boot_timeout_ms == 0);
  memset(&bad, 0, sizeof bad);
  bad.struct_size = 2; /* not a version this library knows */
  CHECK(smolvm_vm_start_ex(vm, &bad) == SMOLVM_EINVAL);
  CHECK(strstr(smolvm_last_error(), "start options.struct_size=2") != NULL);
  so.boot_timeout_ms = 120000;
  CHECK(smolvm_vm_start_ex(vm, &so) == 0);
  expect_output(vm, "echo up", "up\n");
  CHECK(smolvm_vm_delete(vm) == 0);
  smolvm_vm_free(vm);
}

/* A kernel that is not one: the start error carries QEMU's own words. */
static void not_a_kernel(smolvm_runtime* rt, const char* dir) {
  char kernel[300];
  FILE* f;
  smolvm_vm_options vo;
  smolvm_vm* vm = NULL;
  smolvm_vm_info info;
  snprintf(kernel, sizeof kernel, "%s/not-a-kernel", dir);
  f = fopen(kernel, "w");
  if (!f) abort();
  fputs("this is a text file, not a Linux kernel\n", f);
  fclose(f);
  smolvm_vm_options_init(&vo);
  vo.kernel_path = kernel;
  vo.mem_size_mib = 256;
  vo.vcpu_count = 1;
  vo.vm_id = "c-not-a-kernel";
  vo.boot_timeout_s = 60;
  CHECK(smolvm_vm_create(&vm, rt, &vo) == 0);
  CHECK(smolvm_vm_start(vm) < 0);
  fprintf(stderr, "start error: %s\n", smolvm_last_error());
  CHECK(strstr(smolvm_last_error(), "it said: ") != NULL);
  CHECK(strstr(smolvm_last_error(), "kernel") != NULL);
  smolvm_vm_info_init(&info);
  CHECK(smolvm_vm_get_info(&info, vm) == 0);
  CHECK(info.last_error && strstr(info.last_error, "it said: ") != NULL);
  CHECK(smolvm_vm_delete(vm) == 0);
  smolvm_vm_free(vm);
}

int main(void) {
  char dir[] = "/tmp/svcvm-XXXXXX";
  char state[300];
  smolvm_runtime_options ro;
  smolvm_runtime* rt = NULL;
  smolvm_vm_options vo;
  smolvm_vm* vm = NULL;

  if (!mkdtemp(dir)) return 2;
  snprintf(state, sizeof state, "%s/state", dir);
  smolvm_runtime_options_init(&ro);
  ro.state_dir = state;
  CHECK(smolvm_runtime_open(&rt, &ro) == 0);
  if (!rt) return 1;

  smolvm_vm_options_init(&vo);
  vo.mem_size_mib = 256;
  vo.vcpu_count = 1;
  CHECK(smolvm_vm_create(&vm, rt, &vo) == 0);
  CHECK(vm && smolvm_vm_start(vm) == 0);
  if (vm) {
    oversized_requests(vm);
    nul_in_data(vm);
    lost_connection(rt, vm);
    environment(rt, vm);
    CHECK(smolvm_vm_delete(vm) == 0);
    smolvm_vm_free(vm);
  }
  not_a_kernel(rt, dir);
  start_with_timeout(rt);

  smolvm_runtime_close(rt);
  return finish_checks(dir);
}
