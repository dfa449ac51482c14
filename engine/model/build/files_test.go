package build_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/model/build"
)

func TestLoadNormStats(t *testing.T) {
	q01, q99, name, err := build.LoadNormStats(filepath.Join(testFast, "norm_stats_calvin.json"), "")
	if err != nil {
		t.Fatal(err)
	}
	if name != "calvin_abcd" || len(q01) != 7 || len(q99) != 7 || q01[0] != -0.69960000006996 || q99[6] != 0.9996000000999599 {
		t.Fatalf("calvin stats %q %v %v", name, q01, q99)
	}
	// the first entry in file order, not in map order
	p := filepath.Join(t.TempDir(), "s.json")
	os.WriteFile(p, []byte(`{"norm_stats": {"zeta": {"q01": [-2], "q99": [3]}, "alpha": {"q01": [0, 1], "q99": [1, 2]}}}`), 0o644)
	if q01, _, name, err := build.LoadNormStats(p, ""); err != nil || name != "zeta" || q01[0] != -2 {
		t.Fatalf("first entry: %q %v %v", name, q01, err)
	}
	if q01, _, _, err := build.LoadNormStats(p, "alpha"); err != nil || len(q01) != 2 {
		t.Fatalf("named entry: %v %v", q01, err)
	}
	if _, _, _, err := build.LoadNormStats(p, "beta"); err == nil || !strings.Contains(err.Error(), "zeta") {
		t.Fatalf("a missing dataset: %v", err)
	}
}

func TestLoadFastTokenizer(t *testing.T) {
	for dir, want := range map[string][3]float64{"fast": {10, -354, 2048}, "fast_bridge_t5_s50": {50, -112, 1024}, build.TinyFastDir: {50, -158, 1024}} {
		f, n, err := build.LoadFastTokenizer(filepath.Join(testFast, dir))
		if err != nil {
			t.Fatal(err)
		}
		if f.Scale != want[0] || float64(f.MinToken) != want[1] || float64(n) != want[2] || len(f.TokenizerJSON) < 1000 {
			t.Fatalf("%s: scale %g min_token %d vocab %d", dir, f.Scale, f.MinToken, n)
		}
	}
	if _, _, err := build.LoadFastTokenizer(t.TempDir()); err == nil {
		t.Fatal("an empty directory loaded")
	}
}

func TestCamerasAndLayoutJSON(t *testing.T) {
	cams, err := model.ParseCameras("main:25x25,wrist:10x10")
	if err != nil || !reflect.DeepEqual(cams, build.DefaultCameras) || model.FormatCameras(cams) != "main:25x25,wrist:10x10" {
		t.Fatalf("%v %v", cams, err)
	}
	for _, bad := range []string{"", "main", "main:25", "main:0x3", ":2x2", "a:2x2,b:3y3"} {
		if _, err := model.ParseCameras(bad); err == nil {
			t.Errorf("ParseCameras(%q) accepted it", bad)
		}
	}
	v := model.Emu3Vocab(1024)
	got, given, err := build.ParseLayoutJSON(build.LayoutJSON(v))
	if err != nil || !given || !reflect.DeepEqual(got, v) {
		t.Fatalf("layout round trip: %+v %v", got, err)
	}
	if _, _, err := build.ParseLayoutJSON([]byte(`{"text_size": 1, "bogus": 2}`)); err == nil {
		t.Fatal("an unknown field was accepted")
	}
}

// FAST+ asks for clean_up_tokenization_spaces, the CALVIN and Bridge tokenizers do not; the flag
// survives a write and an open.
func TestFastCleanUpFlagRoundTrip(t *testing.T) {
	for dir, want := range map[string]bool{"fast": true, "fast_bridge_t5_s50": false, build.TinyFastDir: false} {
		f, _, err := build.LoadFastTokenizer(filepath.Join(testFast, dir))
		if err != nil {
			t.Fatal(err)
		}
		if f.CleanUpSpaces != want {
			t.Fatalf("%s: clean-up %v, want %v", dir, f.CleanUpSpaces, want)
		}
	}
	o, err := build.TinyOptions(testFast)
	if err != nil {
		t.Fatal(err)
	}
	o.Fast.CleanUpSpaces = true
	path := filepath.Join(t.TempDir(), "m.udvla")
	if err := build.WriteRandom(path, o); err != nil {
		t.Fatal(err)
	}
	m, err := model.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if !m.Config.Fast.CleanUpSpaces {
		t.Fatal("the clean-up flag was lost between write and open")
	}
}
