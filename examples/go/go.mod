module smolvm-example

go 1.19

require smolvm v0.0.0

// The binding lives in this repository (build it first: see README.md).
replace smolvm => ../../bindings/go
