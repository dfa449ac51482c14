package build_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/model/build"
	"github.com/udvla/udvla/engine/model/internal/modeltest"
	"github.com/udvla/udvla/engine/quant"
)

// The converter records the rule config.json names when no rule is given: release for
// use_blockwise_attn_mask (every released checkpoint), causal when neither flag is set, a clear
// refusal for use_bidirectional_attn_mask alone (a rule the engine does not implement); a rule
// named explicitly wins.
func TestConvertMaskRuleFromConfig(t *testing.T) {
	_, seed := modeltest.FreshRand(t)
	for _, c := range []struct {
		name    string
		flags   map[string]any
		given   model.MaskRule
		want    model.MaskRule
		wantErr string
	}{
		{"blockwise", map[string]any{"use_blockwise_attn_mask": true}, model.MaskDefault, model.MaskRelease, ""},
		{"blockwise over bidirectional", map[string]any{"use_blockwise_attn_mask": true, "use_bidirectional_attn_mask": true}, model.MaskDefault, model.MaskRelease, ""},
		{"neither", map[string]any{}, model.MaskDefault, model.MaskCausal, ""},
		{"both false", map[string]any{"use_blockwise_attn_mask": false, "use_bidirectional_attn_mask": false}, model.MaskDefault, model.MaskCausal, ""},
		{"bidirectional", map[string]any{"use_bidirectional_attn_mask": true}, model.MaskDefault, 0, "use_bidirectional_attn_mask"},
		{"bidirectional, paper named", map[string]any{"use_bidirectional_attn_mask": true}, model.MaskPaper, model.MaskPaper, ""},
		{"blockwise, paper named", map[string]any{"use_blockwise_attn_mask": true}, model.MaskPaper, model.MaskPaper, ""},
		{"nested in text_config", map[string]any{"text_config": map[string]any{"use_blockwise_attn_mask": true}}, model.MaskDefault, model.MaskRelease, ""},
	} {
		ro, co := convertibleOptions(t, seed, quant.F16)
		hf := t.TempDir()
		if err := build.WriteRandomHF(hf, build.HFOptions{Arch: ro.Arch, Seed: seed, DType: "F32", ModelType: "llama"}); err != nil {
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
		res, err := build.Convert(co)
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
		f, err := model.Open(co.Out)
		if err != nil {
			t.Fatal(err)
		}
		if f.Config.Decoding.Mask != c.want || res.Config.Decoding.Mask != c.want {
			t.Errorf("%s: file records %v (result %v), want %v", c.name, f.Config.Decoding.Mask, res.Config.Decoding.Mask, c.want)
		}
		f.Close()
	}
}

// Rules round-trip through the file's enum: each one written reads back as itself.
func TestMaskRuleFileMapping(t *testing.T) {
	dir := t.TempDir()
	for _, r := range []model.MaskRule{model.MaskRelease, model.MaskPaper, model.MaskCausal} {
		o := modeltest.TinyArchOptions(true)
		o.Decoding.Mask = r
		path := filepath.Join(dir, r.String()+".udvla")
		if err := build.WriteRandom(path, o); err != nil {
			t.Fatal(err)
		}
		f, err := model.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.Config.Decoding.Mask; got != r {
			t.Errorf("%v written, %v read", r, got)
		}
		f.Close()
	}
	for _, s := range []string{"model", "release", "paper", "causal"} {
		r, err := model.ParseMaskRule(s)
		if err != nil || r.String() != s {
			t.Errorf("%q -> %v, %v", s, r, err)
		}
	}
	if model.MaskDefault != 0 {
		t.Error("the zero value of a rule must mean the model's rule")
	}
	d := &model.Decoding{Mask: model.MaskRelease}
	if model.MaskDefault.Resolve(d) != model.MaskRelease || model.MaskPaper.Resolve(d) != model.MaskPaper || model.MaskDefault.Resolve(nil) != model.MaskCausal {
		t.Error("Resolve")
	}
}
