package fast

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/udvla/udvla/engine/model"
)

func TestLoadStatsRealFiles(t *testing.T) {
	for _, name := range []string{"norm_stats_calvin.json", "norm_stats_bridge.json", "norm_stats_libero.json"} {
		q01, q99, err := LoadStats(filepath.Join(testdata, name))
		if err != nil {
			t.Fatal(err)
		}
		if len(q01) != 7 || len(q99) != 7 {
			t.Fatalf("%s: %d/%d values", name, len(q01), len(q99))
		}
		for d := range q01 {
			if !(q01[d] < q99[d]) {
				t.Fatalf("%s dim %d: q01 %v >= q99 %v", name, d, q01[d], q99[d])
			}
		}
	}
}

// The first dataset in file order wins, even when a map's order would put another first.
func TestLoadStatsFirstInFileOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	dir := t.TempDir()
	for trial := 0; trial < 20; trial++ {
		names := []string{"zeta", "alpha", "mu", "beta"}
		rng.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
		var sb strings.Builder
		sb.WriteString(`{"other": {"x": [1, 2]}, "norm_stats": {`)
		var first []float64
		for i, n := range names {
			q := []float64{rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()}
			if i == 0 {
				first = q
			}
			if i > 0 {
				sb.WriteString(",")
			}
			sb.WriteString(`"` + n + `": {"mean": [0,0,0], "q01": [`)
			for j, v := range q {
				if j > 0 {
					sb.WriteString(",")
				}
				sb.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
			}
			sb.WriteString(`], "q99": [9, 9, 9]}`)
		}
		sb.WriteString("}}")
		path := filepath.Join(dir, "s.json")
		if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		q01, q99, err := LoadStats(path)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(q01, first) || !slices.Equal(q99, []float64{9, 9, 9}) {
			t.Fatalf("order %v: got %v, want the first dataset's %v", names, q01, first)
		}
	}
}

func TestLoadStatsErrors(t *testing.T) {
	for name, s := range map[string]string{
		"not json":     `{"norm_stats": `,
		"no stats":     `{"other": {}}`,
		"empty":        `{"norm_stats": {}}`,
		"missing q99":  `{"norm_stats": {"a": {"q01": [1, 2]}}}`,
		"length":       `{"norm_stats": {"a": {"q01": [1, 2], "q99": [3]}}}`,
		"array on top": `[1, 2]`,
	} {
		if _, _, err := ReadStats(strings.NewReader(s)); err == nil {
			t.Errorf("%s: ReadStats accepted %s", name, s)
		}
	}
	if _, _, err := LoadStats(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("LoadStats accepted a missing file")
	}
}

func TestNewErrors(t *testing.T) {
	good, err := os.ReadFile(filepath.Join(testdata, "fast_calvin_norm_a10_s50", "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(good)
	cases := map[string]struct {
		json       string
		scale      float64
		horizon, d int
	}{
		"bad json":        {s[:len(s)/2], 50, 10, 7},
		"zero scale":      {s, 0, 10, 7},
		"zero horizon":    {s, 50, 0, 7},
		"negative dims":   {s, 50, 10, -1},
		"huge shape":      {s, 50, 1 << 12, 1 << 12},
		"wordpiece":       {strings.Replace(s, `"type": "BPE"`, `"type": "WordPiece"`, 1), 50, 10, 7},
		"other decoder":   {strings.Replace(s, `"decoder": {`+"\n"+`    "type": "ByteLevel"`, `"decoder": {"type": "Metaspace"`, 1), 50, 10, 7},
		"no vocab":        {`{"decoder": {"type": "ByteLevel"}, "model": {"type": "BPE", "vocab": {}, "merges": []}}`, 50, 10, 7},
		"negative id":     {`{"decoder": {"type": "ByteLevel"}, "model": {"type": "BPE", "vocab": {"a": -1}, "merges": []}}`, 50, 10, 7},
		"duplicate id":    {`{"decoder": {"type": "ByteLevel"}, "model": {"type": "BPE", "vocab": {"a": 0, "b": 0}, "merges": []}}`, 50, 10, 7},
		"unknown merge":   {`{"decoder": {"type": "ByteLevel"}, "model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a b"]}}`, 50, 10, 7},
		"malformed merge": {`{"decoder": {"type": "ByteLevel"}, "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a  b"]}}`, 50, 10, 7},
	}
	for name, c := range cases {
		_, err := New([]byte(c.json), c.scale, -158, c.horizon, c.d)
		if err == nil {
			t.Errorf("%s: New accepted it", name)
		}
		t.Logf("%s: %v", name, err)
	}
	// Both merge serialisations give the same tokenizer.
	pairs := `{"decoder": {"type": "ByteLevel"}, "pre_tokenizer": {"type": "ByteLevel"}, "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "abab": 3}, "merges": [["a", "b"], ["ab", "ab"]]}}`
	flat := strings.Replace(pairs, `[["a", "b"], ["ab", "ab"]]`, `["a b", "ab ab"]`, 1)
	for _, js := range []string{pairs, flat} {
		tok, err := New([]byte(js), 1, 0, 2, 1)
		if err != nil {
			t.Fatal(err)
		}
		if ids, err := tok.EncodeText("ababa"); err != nil || !slices.Equal(ids, []int32{3, 0}) {
			t.Fatalf("merges %s: %v %v", js, ids, err)
		}
	}
}

func TestLoadDirShape(t *testing.T) {
	dir := filepath.Join(testdata, "fast")
	if _, err := LoadDir(dir, 0, 7); err == nil {
		t.Error("LoadDir accepted a missing horizon (processor_config has none)")
	}
	if _, err := LoadDir(t.TempDir(), 10, 7); err == nil {
		t.Error("LoadDir accepted an empty directory")
	}
	// A processor_config with time_horizon and action_dim set supplies them.
	tmp := t.TempDir()
	for _, f := range []string{"tokenizer.json", "tokenizer_config.json"} {
		b, _ := os.ReadFile(filepath.Join(dir, f))
		os.WriteFile(filepath.Join(tmp, f), b, 0o644)
	}
	os.WriteFile(filepath.Join(tmp, "processor_config.json"), []byte(`{"scale": 10, "min_token": -354, "time_horizon": 6, "action_dim": 4}`), 0o644)
	tok, err := LoadDir(tmp, 0, 0)
	if err != nil || tok.Horizon() != 6 || tok.Dims() != 4 || tok.Scale() != 10 || tok.MinToken() != -354 {
		t.Fatalf("LoadDir from config: %v", err)
	}
	if tok, err := LoadDir(tmp, 3, 0); err != nil || tok.Horizon() != 3 || tok.Dims() != 4 {
		t.Fatalf("explicit horizon should win: %v", err)
	}
	os.WriteFile(filepath.Join(tmp, "processor_config.json"), []byte(`{"scale": 10, "min_token": -3.5}`), 0o644)
	if _, err := LoadDir(tmp, 3, 2); err == nil {
		t.Error("LoadDir accepted a fractional min_token")
	}
}

func TestFromModel(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(testdata, "fast_calvin_norm_a10_s50", "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	q01, q99, _ := LoadStats(filepath.Join(testdata, "norm_stats_calvin.json"))
	f := &model.Fast{TokenizerJSON: raw, Scale: 50, MinToken: -158, Horizon: 10, Dims: 7, Q01: q01, Q99: q99}
	tok, err := FromModel(f)
	if err != nil {
		t.Fatal(err)
	}
	ref, _, _ := loadReal(t, realTokenizers[0])
	rng := rand.New(rand.NewPCG(3, 4))
	x := smoothTrajectory(rng, 10, 7, q01, q99)
	a, _ := tok.Encode(x, f.Q01, f.Q99)
	b, _ := ref.Encode(x, q01, q99)
	if !slices.Equal(a, b) {
		t.Fatalf("model-packed tokenizer encodes %v, directory one %v", a, b)
	}
	if _, err := FromModel(nil); err == nil {
		t.Error("FromModel accepted nil")
	}
}
