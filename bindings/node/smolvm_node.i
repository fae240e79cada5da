/* smolvm_node.i - the Node side of the SWIG interface: the typemaps that
 * the shared file (bindings/common/smolvm_api.i) leaves to each language.
 *
 * swig -javascript -node -c++ builds smolvm_native.node, a V8 addon whose
 * calls block. index.js loads it only inside its worker thread (see
 * lib/worker.js for why there is exactly one). */
%module smolvm_native

%{
#include <node_buffer.h>
%}

/* OUT bytes: a copy in a new Buffer (the view dies with the next call on
 * the object it came from). */
%typemap(out) smolvm_swig_bytes
%{ $result = node::Buffer::Copy(v8::Isolate::GetCurrent(), $1.data, $1.len).ToLocalChecked(); %}

/* IN bytes: any Buffer, TypedArray or DataView, read in place (the callee
 * copies). */
%typemap(in) (const char *bytes, size_t bytes_len)
%{
  if (!node::Buffer::HasInstance($input)) {
    SWIG_exception_fail(SWIG_TypeError, "in method '$symname', argument $argnum: expected a Buffer or Uint8Array");
  }
  $1 = node::Buffer::Data($input);
  $2 = node::Buffer::Length($input);
%}

/* Runtime options where NULL means "the default": null or undefined from
 * JavaScript, a string otherwise (always copied, so freearg may free). */
%typemap(in, fragment="SWIG_AsCharPtrAndSize")
    const char *state_dir, const char *cache_dir, const char *plugin_path, const char *store
%{
  $1 = NULL;
  if ($input->IsString()) {
    char *copy = NULL;
    SWIG_AsCharPtrAndSize($input, &copy, NULL, NULL);
    $1 = copy;
  } else if (!$input->IsNullOrUndefined()) {
    SWIG_exception_fail(SWIG_TypeError, "in method '$symname', argument $argnum: expected a string, null or undefined");
  }
%}
%typemap(freearg)
    const char *state_dir, const char *cache_dir, const char *plugin_path, const char *store
%{ delete[] (char *)$1; /* from SWIG_AsCharPtrAndSize: new[] */ %}

%include "../common/smolvm_api.i"
