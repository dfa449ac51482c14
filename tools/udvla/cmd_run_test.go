package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/udvla/udvla/engine"
	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/tools/udvla-bench/schema"
)

const tinyPath = "../../testdata/tiny.udvla"

func validateAgainst(t *testing.T, schemaFile string, doc []byte) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../../docs", schemaFile))
	if err != nil {
		t.Fatal(err)
	}
	s, err := schema.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(doc); err != nil {
		t.Fatalf("output does not follow docs/%s: %v\n%s", schemaFile, err, doc)
	}
}

// runJSON runs `udvla run ARGS --json`, checks the exit status and the schema, and decodes the output.
func runJSON(t *testing.T, args ...string) runOutput {
	t.Helper()
	out, e, code := runModelCmd(t, append(append([]string{"run"}, args...), "--json")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	validateAgainst(t, "run.schema.json", []byte(out))
	var got runOutput
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	return got
}

// `udvla run --json` prints the engine's result for the request it describes: a T×D action chunk,
// the future codes of each camera, and one timing entry per run.
func TestRunJSONTiny(t *testing.T) {
	r := rand.New(rand.NewPCG(71, 72))
	seed := r.Uint64() >> 1
	tokens := []int32{30 + r.Int32N(1000), 30 + r.Int32N(1000), 30 + r.Int32N(1000), 30 + r.Int32N(1000), 30 + r.Int32N(1000)}
	tokS := strings.Trim(strings.ReplaceAll(fmt.Sprint(tokens), " ", ","), "[]")
	got := runJSON(t, "--model", tinyPath, "--tokens", tokS, "--seed", fmt.Sprint(seed), "--steps", "5", "--runs", "2")
	f, err := model.Open(tinyPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg := f.Config
	f.Close()
	if len(got.Actions) != cfg.Fast.Horizon {
		t.Fatalf("%d action rows, want T = %d", len(got.Actions), cfg.Fast.Horizon)
	}
	for i, row := range got.Actions {
		if len(row) != cfg.Fast.Dims {
			t.Fatalf("action row %d has %d values, want D = %d", i, len(row), cfg.Fast.Dims)
		}
	}
	if len(got.Runs) != 2 || !got.IdenticalRuns || got.Request.Steps != 5 || got.Request.Seed != seed || got.Request.Mode != "jd3p" {
		t.Errorf("runs %d, identical %v, request %+v", len(got.Runs), got.IdenticalRuns, got.Request)
	}
	for _, run := range got.Runs {
		if len(run.StepMS) != 5 || run.TotalMS <= 0 || run.TokensPerSecond <= 0 {
			t.Errorf("run timings %+v", run)
		}
	}
	// The same request through the Go API gives the same outputs.
	eng, err := engine.Open(tinyPath, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	res, err := eng.Step(context.Background(), &engine.Request{Instruction: tokens, Codes: randomCodes(&cfg, seed), Seed: seed, Steps: 5})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.ActionTokens, nonNilIDs(res.ActionTokens)) || !reflect.DeepEqual(got.FutureCodes, res.FutureCodes) ||
		got.EOAFound != res.EOAFound || got.ActionsComplete != res.ActionsComplete || !reflect.DeepEqual(got.Actions, res.Actions) {
		t.Errorf("the command printed %+v\nthe engine returned %+v", got, res)
	}
}

// The text output carries every part a user reads; codes from a file are used as given; the
// reference backend and the AR mode run through the same command.
func TestRunTextCodesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(73, 74))
	codes := [][]int32{make([]int32, 25), make([]int32, 9)}
	for _, c := range codes {
		for i := range c {
			c[i] = r.Int32N(256)
		}
	}
	b, _ := json.Marshal(codes)
	path := filepath.Join(t.TempDir(), "codes.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, e, code := runModelCmd(t, "run", "--model", tinyPath, "--tokens", "41,97,560", "--codes", path, "--mode", "ar-restricted",
		"--backend", "reference", "--steps", "3")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	for _, want := range []string{"backend  reference (CPU)", "request  ar-restricted, causal mask", path + " codes", "main     5x5:", "wrist    3x3:",
		"action tokens (", "actions  10x7", "tokens/s"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	jsonOut, e, code := runModelCmd(t, "run", "--model", tinyPath, "--tokens", "41,97,560", "--codes", path, "--mode", "id",
		"--mask", "release", "--steps", "4", "--action-steps", "3", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	validateAgainst(t, "run.schema.json", []byte(jsonOut))
	if !strings.Contains(jsonOut, `"codes": "`+path+`"`) || !strings.Contains(jsonOut, `"mask": "release"`) || !strings.Contains(jsonOut, `"cache": true`) ||
		!strings.Contains(jsonOut, `"action_steps": 3`) || !strings.Contains(jsonOut, `"steps_run": 7`) {
		t.Errorf("the request is not described:\n%s", jsonOut)
	}
	out, e, code = runModelCmd(t, "run", "--model", tinyPath, "--tokens", "41,97,560", "--codes", path, "--mode", "ar")
	if code != 0 || !strings.Contains(out, "request  ar, causal mask") {
		t.Errorf("the release's AR: exit %d: %s%s", code, e, out)
	}
}

// --budget-ms: a budget below one step runs the first step only and says so in the text and in
// the JSON; a generous one runs every step and is not marked.
func TestRunBudget(t *testing.T) {
	out, e, code := runModelCmd(t, "run", "--model", tinyPath, "--tokens", "41,97,560", "--budget-ms", "0.001", "--runs", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	for _, want := range []string{"budget   0.001 ms per step", "EARLY    the budget stopped decoding after 1 of 8 steps", "EARLY after 1 steps"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	jsonOut, e, code := runModelCmd(t, "run", "--model", tinyPath, "--tokens", "41,97,560", "--budget-ms", "0.001", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	validateAgainst(t, "run.schema.json", []byte(jsonOut))
	var got runOutput
	if err := json.Unmarshal([]byte(jsonOut), &got); err != nil {
		t.Fatal(err)
	}
	if !got.Early || got.StepsRun != 1 || !got.Runs[0].Early || got.Runs[0].StepsRun != 1 || got.Request.BudgetMS != 0.001 {
		t.Errorf("a budget below one step: early %v after %d steps, runs %+v", got.Early, got.StepsRun, got.Runs)
	}
	jsonOut, e, code = runModelCmd(t, "run", "--model", tinyPath, "--tokens", "41,97,560", "--budget-ms", "600000", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	validateAgainst(t, "run.schema.json", []byte(jsonOut))
	got = runOutput{}
	if err := json.Unmarshal([]byte(jsonOut), &got); err != nil {
		t.Fatal(err)
	}
	if got.Early || got.StepsRun != 8 {
		t.Errorf("a generous budget: early %v after %d steps", got.Early, got.StepsRun)
	}
	if _, e, code := runModelCmd(t, "run", "--model", tinyPath, "--tokens", "41", "--budget-ms", "-1"); code == 0 || !strings.Contains(e, "--budget-ms") {
		t.Errorf("a negative budget: exit %d: %s", code, e)
	}
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short.json")
	os.WriteFile(short, []byte(`[[1,2,3],[4]]`), 0o644)
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`[[`+strings.Repeat("1,", 24)+`300],[`+strings.Repeat("0,", 8)+`0]]`), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--tokens", "1,2"}, "--model FILE"},
		{[]string{"--model", tinyPath}, "--tokens IDS"},
		{[]string{"--model", tinyPath, "--tokens", "1", "--instruction", "pick"}, "once"},
		{[]string{"--model", tinyPath, "--instruction", "pick up the block"}, "packs no text vocabulary: give the instruction as --tokens"},
		{[]string{"--model", tinyPath, "--tokens", "1,x"}, `"x" is not`},
		{[]string{"--model", tinyPath, "--tokens", "1", "--mode", "fast"}, "want jd3p, id, ar or ar-restricted"},
		{[]string{"--model", tinyPath, "--tokens", "1", "--mask", "causal"}, "want model, release, paper or release-kv"},
		{[]string{"--model", tinyPath, "--tokens", "1", "--mask", "release-cached"}, "want model, release, release-kv, paper or causal"},
		{[]string{"--model", tinyPath, "--tokens", "1", "--backend", "cuda"}, "want vulkan or reference"},
		{[]string{"--model", tinyPath, "--tokens", "1", "--backend", "reference", "--device", "0"}, "drop them"},
		{[]string{"--model", tinyPath, "--tokens", "1", "--codes", short}, "camera main (5x5) takes 25 codes"},
		{[]string{"--model", tinyPath, "--tokens", "1", "--codes", bad}, "outside the codebook"},
		{[]string{"--model", tinyPath, "--tokens", "1", "--runs", "0"}, "at least 1"},
		{[]string{"--model", filepath.Join(dir, "none.udvla"), "--tokens", "1"}, "no such file"},
	} {
		_, e, code := runModelCmd(t, append([]string{"run"}, c.args...)...)
		if code != 1 || !strings.Contains(e, c.want) {
			t.Errorf("run %v: exit %d, stderr %q, want %q", c.args, code, e, c.want)
		}
	}
	if _, e, code := runModelCmd(t, "run", "-help"); code != 0 || !strings.Contains(e, "usage: udvla run --model FILE") {
		t.Errorf("run -help: exit %d, %s", code, e)
	}
}

// `udvla run --mask release-kv` decodes in the release's KV-cached mode, as the Go API does with
// MaskReleaseKV; `--mask release` says that it caches the text prefix exactly.
func TestRunMaskReleaseKV(t *testing.T) {
	const seed = 77
	tokens := []int32{41, 97, 560, 12}
	got := runJSON(t, "--model", tinyPath, "--tokens", "41,97,560,12", "--seed", fmt.Sprint(seed), "--steps", "4", "--mask", "release-kv")
	if got.Request.Mask != "release-kv" || !got.Request.Cache {
		t.Errorf("request %+v", got.Request)
	}
	f, err := model.Open(tinyPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg := f.Config
	f.Close()
	eng, err := engine.Open(tinyPath, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	res, err := eng.Step(context.Background(), &engine.Request{Instruction: tokens, Codes: randomCodes(&cfg, seed), Seed: seed,
		Steps: 4, Mask: model.MaskReleaseKV})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.ActionTokens, nonNilIDs(res.ActionTokens)) || !reflect.DeepEqual(got.FutureCodes, res.FutureCodes) {
		t.Errorf("the command printed %+v\nthe engine returned %+v", got, res)
	}
	text, e, code := runModelCmd(t, "run", "--model", tinyPath, "--tokens", "41,97,560,12", "--steps", "2", "--mask", "release")
	if code != 0 || !strings.Contains(text, "release mask, T=2, seed 1, text prefix cached (exact)") {
		t.Errorf("exit %d: %s\n%s", code, e, text)
	}
}
