package build

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/udvla/udvla/engine/quant"
)

// The converter records the rule config.json names when no rule is given: release for
// use_blockwise_attn_mask (every released checkpoint), causal when neither flag is set, a clear
// refusal for use_bidirectional_attn_mask alone (a rule the engine does not implement); a rule
// named explicitly wins.
func TestConvertMaskRuleFromConfig(t *testing.T) {
	_, seed := freshRand(t)
	for _, c := range []struct {
		name    string
		flags   map[string]any
		given   MaskRule
		want    MaskRule
		wantErr string
	}{
		{"blockwise", map[string]any{"use_blockwise_attn_mask": true}, MaskDefault, MaskRelease, ""},
		{"blockwise over bidirectional", map[string]any{"use_blockwise_attn_mask": true, "use_bidirectional_attn_mask": true}, MaskDefault, MaskRelease, ""},
		{"neither", map[string]any{}, MaskDefault, MaskCausal, ""},
		{"both false", map[string]any{"use_blockwise_attn_mask": false, "use_bidirectional_attn_mask": false}, MaskDefault, MaskCausal, ""},
		{"bidirectional", map[string]any{"use_bidirectional_attn_mask": true}, MaskDefault, 0, "use_bidirectional_attn_mask"},
		{"bidirectional, paper named", map[string]any{"use_bidirectional_attn_mask": true}, MaskPaper, MaskPaper, ""},
		{"blockwise, paper named", map[string]any{"use_blockwise_attn_mask": true}, MaskPaper, MaskPaper, ""},
		{"nested in text_config", map[string]any{"text_config": map[string]any{"use_blockwise_attn_mask": true}}, MaskDefault, MaskRelease, ""},
	} {
		ro, co := convertibleOptions(t, seed, quant.F16)
		hf := t.TempDir()
		if err := WriteRandomHF(hf, HFOptions{Arch: ro.Arch, Seed: seed, DType: "F32", ModelType: "llama"}); err != nil {
			t.Fatal(err)
		}
		raw, _ := os.ReadFile(filepath.Join(hf, "config.json"))
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		for k, v := range c.flags {
			if k == "text_config" { // the language model's fields move one level down
				inner := map[string]any{}
				for k2, v2 := range m {
					inner[k2] = v2
				}
				for k2, v2 := range v.(map[string]any) {
					inner[k2] = v2
				}
				m = map[string]any{"model_type": "llama", "text_config": inner}
				continue
			}
			m[k] = v
		}
		raw, _ = json.Marshal(m)
		os.WriteFile(filepath.Join(hf, "config.json"), raw, 0o644)
		co.HFDir, co.Out, co.Mask = hf, filepath.Join(t.TempDir(), "m.udvla"), c.given
		res, err := Convert(co)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s: error %v, want one naming %s", c.name, err, c.wantErr)
			}
			if _, statErr := os.Stat(co.Out); statErr == nil {
				t.Errorf("%s: a refused conversion left %s behind", c.name, co.Out)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		f, err := Open(co.Out)
		if err != nil {
			t.Fatal(err)
		}
		if f.Config.Decoding.Mask != c.want || res.Config.Decoding.Mask != c.want {
			t.Errorf("%s: file records %v (result %v), want %v", c.name, f.Config.Decoding.Mask, res.Config.Decoding.Mask, c.want)
		}
		f.Close()
	}
}

// Rules round-trip through the file's enum (Paper = 0 is the schema default, so files written
// before the release rule became the default still read as paper).
func TestMaskRuleFileMapping(t *testing.T) {
	for _, r := range []MaskRule{MaskRelease, MaskPaper, MaskCausal} {
		if got := maskFromFile(maskToFile(r)); got != r {
			t.Errorf("%v -> %v -> %v", r, maskToFile(r), got)
		}
	}
	if maskFromFile(0) != MaskPaper {
		t.Error("an absent mask field must read as paper")
	}
	for _, s := range []string{"model", "release", "paper", "causal"} {
		r, err := ParseMaskRule(s)
		if err != nil || r.String() != s {
			t.Errorf("%q -> %v, %v", s, r, err)
		}
	}
	if MaskDefault != 0 {
		t.Error("the zero value of a rule must mean the model's rule")
	}
	d := &Decoding{Mask: MaskRelease}
	if MaskDefault.Resolve(d) != MaskRelease || MaskPaper.Resolve(d) != MaskPaper || MaskDefault.Resolve(nil) != MaskCausal {
		t.Error("Resolve")
	}
}
