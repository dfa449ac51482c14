package build_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/model/build"
	"github.com/udvla/udvla/engine/model/internal/modeltest"
	"github.com/udvla/udvla/engine/quant"
)

// Each preset's figures (spec §3, §5, §6), and the region size N they give.
func TestPresetFigures(t *testing.T) {
	v := model.Emu3Vocab(1024)
	for _, c := range []struct {
		name          string
		cams          []model.Camera
		la, steps, n  int
		header        []int32
		fast, stats   string
		gripper       float64
		horizon, dims int
	}{
		{"calvin", []model.Camera{{Name: "main", H: 25, W: 25}, {Name: "wrist", H: 10, W: 10}}, 70, 72, 817, []int32{9, 15, 16, 17, 20},
			"fast_calvin_norm_a10_s50", "norm_stats_calvin.json", 0, 10, 7},
		{"libero", []model.Camera{{Name: "main", H: 25, W: 25}, {Name: "wrist", H: 10, W: 10}}, 70, 72, 817, []int32{9, 15, 16, 17, 18, 19, 20},
			"fast", "norm_stats_libero.json", 0, 10, 7},
		{"bridge", []model.Camera{{Name: "main", H: 25, W: 25}}, 72, 96, 708, []int32{9, 15, 16, 17, 18, 19, 20, 21},
			"fast_bridge_t5_s50", "norm_stats_bridge.json", 0.5, 10, 7},
	} {
		p := model.PresetByName(c.name)
		if p == nil {
			t.Fatalf("no preset %s", c.name)
		}
		ids, err := p.HeaderIDs(v)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(p.Cameras, c.cams) || p.ActionLen != c.la || p.Steps != c.steps || !reflect.DeepEqual(ids, c.header) ||
			p.FastDir != c.fast || p.NormStats != c.stats || p.GripperThreshold != c.gripper || p.Horizon != c.horizon || p.Dims != c.dims {
			t.Errorf("%s: %+v, header ids %v", c.name, p, ids)
		}
		n := p.ActionLen
		for _, cam := range p.Cameras {
			n += 4 + len(v.HeaderTokens(cam.H, cam.W)) + cam.H*cam.W // BOI, header, IMG, codes, EOF, EOI
		}
		if n != c.n {
			t.Errorf("%s: N = %d, want %d", c.name, n, c.n)
		}
		for _, id := range v.HeaderIDSet(p.Cameras) {
			if !strings.Contains(p.HeaderChars, string(rune('0'+id-v.Digits[0]))) && id != v.Star {
				t.Errorf("%s: the size headers use id %d, which the preset does not allow", c.name, id)
			}
		}
		if _, size, err := build.LoadFastTokenizer(filepath.Join(testFast, p.FastDir)); err != nil || size != p.FastSize {
			t.Errorf("%s: the FAST tokenizer has %d ids, the preset says %d (%v)", c.name, size, p.FastSize, err)
		}
	}
	if !reflect.DeepEqual(model.PresetNames(), []string{"calvin", "libero", "bridge"}) || model.PresetByName("droid") != nil {
		t.Errorf("presets %v", model.PresetNames())
	}
	a := model.PresetByName("calvin")
	a.Cameras[0].H = 3
	if model.PresetByName("calvin").Cameras[0].H != 25 {
		t.Error("PresetByName hands out the shared table")
	}
}

// The converter writes a preset's settings, FAST files and gripper threshold into the model file,
// which reads them back; settings the preset fixes are refused beside it.
func TestConvertPreset(t *testing.T) {
	_, seed := modeltest.FreshRand(t)
	for _, c := range []struct {
		name     string
		text     int32
		fastSize int32
		minToken int32
	}{{"calvin", 1100, 1024, -158}, {"libero", 2100, 2048, -354}, {"bridge", 1100, 1024, -112}} {
		v, n := model.ScaledVocab(c.text, 40, c.fastSize)
		a := model.Arch{Layers: 1, Hidden: 32, Heads: 2, KVHeads: 1, HeadDim: 16, FFN: 32, Vocab: n, RopeTheta: 1e4, RMSEps: 1e-5}
		dir := t.TempDir()
		if err := build.WriteRandomHF(dir, build.HFOptions{Arch: a, Seed: seed, DType: "F32", ModelType: "llama", Blockwise: true}); err != nil {
			t.Fatal(err)
		}
		layout := filepath.Join(t.TempDir(), "layout.json")
		lv := *v
		lv.HeaderIDs = nil
		os.WriteFile(layout, build.LayoutJSON(&lv), 0o644)
		out := filepath.Join(t.TempDir(), c.name+".udvla")
		if _, err := build.Convert(build.ConvertOptions{HFDir: dir, Out: out, Quant: quant.F32, Layout: layout, Preset: c.name, FastRoot: testFast}); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		f, err := model.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		p := model.PresetByName(c.name)
		wantIDs, _ := p.HeaderIDs(v)
		q01, q99, _, err := build.LoadNormStats(filepath.Join(testFast, p.NormStats), "")
		if err != nil {
			t.Fatal(err)
		}
		cfg := f.Config
		if !reflect.DeepEqual(cfg.Decoding, p.Decoding(model.MaskRelease)) || !reflect.DeepEqual(cfg.Vocab.HeaderIDs, wantIDs) {
			t.Errorf("%s: decoding %+v header ids %v", c.name, cfg.Decoding, cfg.Vocab.HeaderIDs)
		}
		if fa := cfg.Fast; fa == nil || fa.GripperThreshold != p.GripperThreshold || fa.Horizon != 10 || fa.Dims != 7 ||
			fa.MinToken != c.minToken || !reflect.DeepEqual(fa.Q01, q01) || !reflect.DeepEqual(fa.Q99, q99) {
			t.Errorf("%s: FAST %+v", c.name, cfg.Fast)
		}
		f.Close()
		for what, o := range map[string]build.ConvertOptions{
			"steps beside a preset": {Steps: 96},
			"unknown preset":        {Preset: "droid"},
			"fast root alone":       {Preset: "-", FastRoot: testFast},
			"another horizon":       {Horizon: 5},
		} {
			o.HFDir, o.Out, o.Quant, o.Layout = dir, filepath.Join(t.TempDir(), "x.udvla"), quant.F32, layout
			if o.Preset == "" {
				o.Preset, o.FastRoot = c.name, testFast
			} else if o.Preset == "-" {
				o.Preset = ""
			}
			if _, err := build.Convert(o); err == nil {
				t.Errorf("%s: %s accepted", c.name, what)
			}
		}
	}
}
