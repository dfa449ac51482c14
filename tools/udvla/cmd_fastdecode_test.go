package main

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/udvla/udvla/engine/fast"
	"github.com/udvla/udvla/engine/model"
)

const fastData = "../../testdata/fast"

func runFastDecodeCmd(t *testing.T, stdin string, args ...string) (fastDecodeOutput, map[string]json.RawMessage, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := dispatch(append([]string{"fast-decode"}, args...), strings.NewReader(stdin), &out, &errb)
	var res fastDecodeOutput
	var keys map[string]json.RawMessage
	if code == 0 {
		if err := json.Unmarshal(out.Bytes(), &res); err != nil {
			t.Fatalf("output is not JSON: %v\n%s", err, out.String())
		}
		json.Unmarshal(out.Bytes(), &keys)
	}
	return res, keys, errb.String(), code
}

// randomChunkIDs encodes a smooth random trajectory (in the statistics' range) with tok.
func randomChunkIDs(t *testing.T, rng *rand.Rand, tok *fast.Tokenizer, q01, q99 []float64) []int32 {
	t.Helper()
	T, D := tok.Horizon(), tok.Dims()
	x := make([][]float64, T)
	phase, amp := rng.Float64()*6, rng.Float64()
	for j := range x {
		x[j] = make([]float64, D)
		for d := range x[j] {
			v := amp * 0.8 * math.Sin(phase+float64(j)*0.3+float64(d))
			x[j][d] = q01[d] + (v+1)/2*(q99[d]-q01[d])
		}
	}
	ids, err := tok.Encode(x, q01, q99)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func idsJSON(ids []int32) string {
	b, _ := json.Marshal(ids)
	return string(b)
}

func TestFastDecodeTokenizerDir(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	dir := fastData + "/fast_calvin_norm_a10_s50"
	statsPath := fastData + "/norm_stats_calvin.json"
	tok, err := fast.LoadDir(dir, 10, 7)
	if err != nil {
		t.Fatal(err)
	}
	q01, q99, err := fast.LoadStats(statsPath)
	if err != nil {
		t.Fatal(err)
	}
	opened := 0 // grippers open under the default threshold, which 1.5 must close
	for trial := 0; trial < 10; trial++ {
		ids := randomChunkIDs(t, rng, tok, q01, q99)
		if trial%3 == 2 {
			ids = ids[:len(ids)-1-rng.IntN(len(ids)/2)] // a cut-off chunk
		}
		want, err := tok.Decode(ids, q01, q99)
		if err != nil {
			t.Fatal(err)
		}
		got, keys, e, code := runFastDecodeCmd(t, idsJSON(ids), "--tokenizer", dir, "--horizon", "10", "--dims", "7", "--stats", statsPath)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, e)
		}
		for _, k := range []string{"coeffs", "actions_normalised", "actions"} {
			if _, ok := keys[k]; !ok {
				t.Fatalf("output lacks %q", k)
			}
		}
		if !slices.EqualFunc(got.Coeffs, want.Coeffs, slices.Equal) ||
			!slices.EqualFunc(got.ActionsNormalised, want.Normalised, slices.Equal) ||
			!slices.EqualFunc(got.Actions, want.Actions, slices.Equal) ||
			got.Complete != want.Complete || got.Values != want.Values {
			t.Fatalf("trial %d: command output differs from fast.Decode:\n%+v\n%+v", trial, got, want)
		}
		if len(got.Actions) != 10 || len(got.Actions[0]) != 7 {
			t.Fatalf("actions are %dx%d", len(got.Actions), len(got.Actions[0]))
		}
		// A threshold above every gripper value (they lie in [-1, 1]) closes the gripper throughout.
		high, _, e, code := runFastDecodeCmd(t, idsJSON(ids), "--tokenizer", dir, "--horizon", "10", "--dims", "7", "--stats", statsPath,
			"--gripper-threshold", "1.5")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, e)
		}
		for j, row := range high.Actions {
			if row[6] != -1 || !slices.Equal(row[:6], got.Actions[j][:6]) {
				t.Fatalf("threshold 1.5, step %d: %v (threshold 0: %v)", j, row, got.Actions[j])
			}
			if got.Actions[j][6] == 1 {
				opened++
			}
		}
		// Without --stats there are no actions.
		_, keys, e, code = runFastDecodeCmd(t, idsJSON(ids), "--tokenizer", dir, "--horizon", "10", "--dims", "7")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, e)
		}
		if _, ok := keys["actions"]; ok {
			t.Fatal("actions printed without --stats")
		}
	}
	if opened == 0 {
		t.Fatal("no gripper opened under the default threshold: the threshold test cannot fail")
	}
}

func TestFastDecodeModel(t *testing.T) {
	const path = "../../testdata/tiny.udvla"
	f, err := model.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	fc := f.Config.Fast
	f.Close()
	if fc == nil {
		t.Fatal("the test model packs no FAST tokenizer")
	}
	tok, err := fast.FromModel(fc)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	q01, q99 := fc.Q01, fc.Q99
	if len(q01) == 0 {
		q01, q99 = make([]float64, fc.Dims), make([]float64, fc.Dims)
		for d := range q01 {
			q01[d], q99[d] = -1, 1
		}
	}
	ids := randomChunkIDs(t, rng, tok, q01, q99)
	want, _ := tok.Decode(ids, fc.Q01, fc.Q99)
	got, _, e, code := runFastDecodeCmd(t, idsJSON(ids), "--model", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	if !slices.EqualFunc(got.Coeffs, want.Coeffs, slices.Equal) || !slices.EqualFunc(got.Actions, want.Actions, slices.Equal) ||
		len(got.ActionsNormalised) != fc.Horizon {
		t.Fatalf("--model output differs from the packed tokenizer's decode:\n%+v\n%+v", got, want)
	}
	// --stats overrides the packed statistics.
	other := fastData + "/norm_stats_libero.json"
	lq01, lq99, _ := fast.LoadStats(other)
	if len(lq01) == fc.Dims {
		want, _ = tok.Decode(ids, lq01, lq99)
		got, _, e, code = runFastDecodeCmd(t, idsJSON(ids), "--model", path, "--stats", other)
		if code != 0 || !slices.EqualFunc(got.Actions, want.Actions, slices.Equal) {
			t.Fatalf("--model with --stats: exit %d %s", code, e)
		}
	}
}

func TestFastDecodeUnknownIDs(t *testing.T) {
	dir := fastData + "/fast_bridge_t5_s50"
	// 1e3 is id 1000 (in the vocabulary); the others cannot be ids.
	got, _, e, code := runFastDecodeCmd(t, "[1e3, 99999999999, -5, 1024, 7]", "--tokenizer", dir, "--horizon", "5", "--dims", "7")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	tok, _ := fast.LoadDir(dir, 5, 7)
	want, _ := tok.Decode([]int32{1000, 7}, nil, nil)
	if got.Skipped != 3 || got.Complete || !slices.EqualFunc(got.Coeffs, want.Coeffs, slices.Equal) {
		t.Fatalf("skipped %d complete %v coeffs %v, want 3, false, %v", got.Skipped, got.Complete, got.Coeffs, want.Coeffs)
	}
}

func TestFastDecodeErrors(t *testing.T) {
	calvin := fastData + "/fast_calvin_norm_a10_s50"
	cases := []struct {
		stdin string
		args  []string
		want  string
	}{
		{"[1]", nil, "--tokenizer"},
		{"[1]", []string{"--model", "../../testdata/tiny.udvla", "--tokenizer", calvin}, "replaces"},
		{"[1]", []string{"--model", "../../testdata/tiny.udvla", "--horizon", "3"}, "replaces"},
		{"[1]", []string{"--tokenizer", fastData + "/fast", "--dims", "7"}, "shape"},
		{"[1]", []string{"--tokenizer", fastData + "/nonexistent", "--horizon", "1", "--dims", "1"}, "no such file"},
		{"[1.5]", []string{"--tokenizer", calvin, "--horizon", "10", "--dims", "7"}, "not an integer"},
		{"{\"a\": 1}", []string{"--tokenizer", calvin, "--horizon", "10", "--dims", "7"}, "JSON array"},
		{"[1] [2]", []string{"--tokenizer", calvin, "--horizon", "10", "--dims", "7"}, "after the array"},
		{"null", []string{"--tokenizer", calvin, "--horizon", "10", "--dims", "7"}, "null"},
		{"[1]", []string{"--tokenizer", calvin, "--horizon", "10", "--dims", "7", "--stats", fastData + "/fast/tokenizer_config.json"}, "norm_stats"},
		{"[1]", []string{"--tokenizer", calvin, "--horizon", "10", "--dims", "5", "--stats", fastData + "/norm_stats_calvin.json"}, "want 5"},
		{"[1]", []string{"--tokenizer", calvin, "--horizon", "10", "--dims", "7", "extra"}, "unexpected"},
	}
	for _, c := range cases {
		_, _, e, code := runFastDecodeCmd(t, c.stdin, c.args...)
		if code == 0 || !strings.Contains(e, c.want) {
			t.Errorf("fast-decode %v <<< %s: exit %d, stderr %q, want an error mentioning %q", c.args, c.stdin, code, e, c.want)
		}
	}
}
