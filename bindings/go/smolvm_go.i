/* smolvm_go.i - the Go side of the SWIG interface: the typemaps that the
 * shared file (bindings/common/smolvm_api.i) leaves to each language.
 *
 * Generates package `raw` (swig -go -cgo -intgosize 64), which lives at
 * smolvm/internal/raw: only the idiomatic package smolvm may import it. */
%module raw

/* OUT bytes: the helper's {data, len} view is copied into C memory inside
 * the C wrapper (the view dies with the next call on its object), then into
 * a Go []byte, and the C copy is freed. */
%typemap(gotype) smolvm_swig_bytes "[]byte"
%typemap(imtype) smolvm_swig_bytes "string"
%typemap(out, fragment="AllocateString") smolvm_swig_bytes
%{ $result = Swig_AllocateString($1.data, $1.len); %}
%typemap(goout, fragment="CopyString") smolvm_swig_bytes
%{
  {
    p := *(*swig_gostring)(unsafe.Pointer(&$1))
    $result = make([]byte, p.n)
    if p.n > 0 {
      copy($result, (*[1 << 30]byte)(unsafe.Pointer(p.p))[:p.n:p.n])
    }
    Swig_free(p.p)
  }
%}

/* IN bytes: a Go string, passed without a copy (the callee copies). */
%apply (char *STRING, size_t LENGTH) { (const char *bytes, size_t bytes_len) };

/* Runtime options where NULL means "the default": an empty Go string is
 * passed as NULL (an empty store name would otherwise be refused). */
%typemap(in) const char *state_dir, const char *cache_dir, const char *plugin_path,
             const char *store
%{
  $1 = NULL;
  if ($input.n > 0) {
    $1 = ($1_ltype)malloc($input.n + 1);
    memcpy((char *)$1, $input.p, $input.n);
    ((char *)$1)[$input.n] = '\0';
  }
%}
%typemap(freearg) const char *state_dir, const char *cache_dir, const char *plugin_path,
                  const char *store
%{ free((char *)$1); %}

%include "../common/smolvm_api.i"
