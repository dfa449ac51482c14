// Package tools holds udvla's scripts (setup.sh, test.sh, generate.sh); its commands are in the
// folders below. It has no code: this file is where `go generate ./...` finds generate.sh, the one
// command that regenerates SPIR-V, FlatBuffers code and test data.
package tools

//go:generate bash generate.sh
