package main

import (
	"encoding/base64"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/udvla/udvla/engine"
	"github.com/udvla/udvla/engine/model/build"
)

// textModel writes the tiny model's shape with a text vocabulary of the 256 single bytes (rank =
// byte value), so that instruction text tokenizes to its UTF-8 bytes.
func textModel(t *testing.T) string {
	t.Helper()
	o, err := build.TinyOptions("../../testdata/fast")
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	for b := 0; b < 256; b++ {
		fmt.Fprintf(&sb, "%s %d\n", base64.StdEncoding.EncodeToString([]byte{byte(b)}), b)
	}
	o.TextBPE = []byte(sb.String())
	path := filepath.Join(t.TempDir(), "text.udvla")
	if err := build.WriteRandom(path, o); err != nil {
		t.Fatal(err)
	}
	return path
}

// `udvla run --instruction TEXT --json` prints the ids the text became, the same the Go API
// encodes, and the step equals one given those ids as --tokens.
func TestRunInstructionTextShowsIDs(t *testing.T) {
	path := textModel(t)
	const text = "push the blue block"
	got := runJSON(t, "--model", path, "--instruction", text, "--steps", "2")
	eng, err := engine.Open(path, engine.Options{Backend: engine.BackendReference})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	want, err := eng.EncodeInstruction(text)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != len(text) || !reflect.DeepEqual(got.Request.Instruction, want) {
		t.Fatalf("request.instruction %v, the text encodes to %v", got.Request.Instruction, want)
	}
	ids := strings.Trim(strings.ReplaceAll(fmt.Sprint(want), " ", ","), "[]")
	got2 := runJSON(t, "--model", path, "--tokens", ids, "--steps", "2")
	if !reflect.DeepEqual(got.ActionTokens, got2.ActionTokens) || !reflect.DeepEqual(got.FutureCodes, got2.FutureCodes) {
		t.Error("the step from the text differs from the step from its ids")
	}
}

// Compilation on the first use of a request shape is its own figure: in run 1 only, on Vulkan,
// in the text and the JSON; the reference compiles nothing.
func TestRunReportsCompileApart(t *testing.T) {
	got := runJSON(t, "--model", tinyPath, "--tokens", "41,97,560", "--steps", "2", "--runs", "2")
	if got.Runs[0].CompileMS <= 0 || got.Runs[1].CompileMS != 0 {
		t.Errorf("compile_ms of runs 1 and 2: %v and %v, want > 0 and 0", got.Runs[0].CompileMS, got.Runs[1].CompileMS)
	}
	text, e, code := runModelCmd(t, "run", "--model", tinyPath, "--tokens", "41,97,560", "--steps", "2")
	if code != 0 || !strings.Contains(text, "compile  ") || !strings.Contains(text, "first use of this request shape") {
		t.Errorf("exit %d, the text does not report compilation:\n%s%s", code, text, e)
	}
	r := runJSON(t, "--model", tinyPath, "--tokens", "41,97,560", "--steps", "2", "--backend", "reference")
	if r.Runs[0].CompileMS != 0 {
		t.Errorf("the reference reports %v ms of compilation", r.Runs[0].CompileMS)
	}
}
