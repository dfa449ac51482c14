package main

import (
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/ref"
)

// writePNG writes a w x h gradient with some texture.
func writePNG(t *testing.T, path string, w, h int) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8((x*y*37 + x*11) % 256), 255})
		}
	}
	fd, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(fd, img); err != nil {
		t.Fatal(err)
	}
	fd.Close()
}

// `udvla vq-encode` as a user types it: the device's codes equal the reference backend's (but at
// genuine near-ties), in the documented JSON; bad inputs get errors that say what is wrong.
func TestVQEncodeCommand(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "frame.png")
	writePNG(t, img, 100, 90)
	const tiny = "../../testdata/tiny_vq.udvla"
	var grids [2]vqCodes
	for i, backend := range []string{"vulkan", "reference"} {
		out, e, code := runModelCmd(t, "vq-encode", "--model", tiny, "--image", img, "--size", "88x80", "--json", "--backend", backend)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", backend, code, e)
		}
		if err := json.Unmarshal([]byte(out), &grids[i]); err != nil {
			t.Fatalf("%s: %v\n%s", backend, err, out)
		}
		if grids[i].H != 40 || grids[i].W != 44 || len(grids[i].Codes) != 40 || len(grids[i].Codes[0]) != 44 {
			t.Fatalf("%s: a %dx%d grid", backend, grids[i].H, grids[i].W)
		}
	}
	// Near-ties: the reference's margins on the same frame.
	f, err := model.Open(tiny)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	px, h, w, err := loadFrame(img, "88x80")
	if err != nil {
		t.Fatal(err)
	}
	m, err := ref.NewVQ(f.Config.VQ, f.Float32)
	if err != nil {
		t.Fatal(err)
	}
	_, margin, err := m.Encode(px, h, w)
	if err != nil {
		t.Fatal(err)
	}
	near := 0
	for y, row := range grids[0].Codes {
		for x, c := range row {
			if c != grids[1].Codes[y][x] {
				if margin[y*44+x] >= 1e-4 {
					t.Fatalf("code (%d, %d): device %d, reference %d, margin %.3g", y, x, c, grids[1].Codes[y][x], margin[y*44+x])
				}
				near++
			}
		}
	}
	t.Logf("%d of %d codes differ, all at genuine near-ties", near, 40*44)

	out, e, code := runModelCmd(t, "vq-encode", "--model", tiny, "--image", img, "--size", "8x8")
	if code != 0 || !strings.HasPrefix(out, "40x40 codes (h x w) of a 80x80 frame:") {
		t.Fatalf("text output: exit %d\n%s%s", code, out, e)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--model", "../../testdata/tiny.udvla", "--image", img}, "no vision tokenizer"},
		{[]string{"--model", tiny, "--image", filepath.Join(dir, "none.png")}, "none.png"},
		{[]string{"--model", tiny, "--image", tiny}, "tiny_vq.udvla"},
		{[]string{"--model", tiny, "--image", img, "--size", "88"}, "WxH"},
		{[]string{"--model", tiny, "--image", img, "--size", "0x8"}, "--size 0x8"},
		{[]string{"--model", tiny, "--image", img, "--backend", "cuda"}, "cuda"},
		{[]string{"--model", tiny, "--image", img, "--backend", "reference", "--device", "0"}, "drop them"},
		{[]string{"--model", tiny}, "--image"},
	} {
		if _, e, code := runModelCmd(t, append([]string{"vq-encode"}, c.args...)...); code == 0 || !strings.Contains(e, c.want) {
			t.Errorf("%v: exit %d, %q does not say %q", c.args, code, e, c.want)
		}
	}
}

// `udvla vq-decode` as a user types it: a JSON grid of codes (vq-encode's format) to a PNG of the
// right size, the device's pixels within one grey level of the reference backend's; bad code files
// are refused and leave no PNG.
func TestVQDecodeCommand(t *testing.T) {
	dir := t.TempDir()
	const tiny = "../../testdata/tiny_vq.udvla"
	grid := vqCodes{H: 6, W: 9}
	for y := 0; y < grid.H; y++ {
		var row []int32
		for x := 0; x < grid.W; x++ {
			row = append(row, int32((x*37+y*101+11)%256))
		}
		grid.Codes = append(grid.Codes, row)
	}
	raw, _ := json.Marshal(grid)
	codes := filepath.Join(dir, "codes.json")
	if err := os.WriteFile(codes, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	var pix [2][]byte
	for i, backend := range []string{"vulkan", "reference"} {
		png1 := filepath.Join(dir, backend+".png")
		if out, e, code := runModelCmd(t, "vq-decode", "--model", tiny, "--codes", codes, "--out", png1, "--backend", backend); code != 0 ||
			!strings.Contains(out, "18x12 from 9x6 codes") {
			t.Fatalf("%s: exit %d\n%s%s", backend, code, out, e)
		}
		fd, err := os.Open(png1)
		if err != nil {
			t.Fatal(err)
		}
		im, err := png.Decode(fd)
		fd.Close()
		if err != nil {
			t.Fatal(err)
		}
		if b := im.Bounds(); b.Dx() != 18 || b.Dy() != 12 {
			t.Fatalf("%s: a frame of %v", backend, b)
		}
		for y := 0; y < 12; y++ {
			for x := 0; x < 18; x++ {
				r, g, b, a := im.At(x, y).RGBA()
				if a != 0xffff {
					t.Fatalf("%s: pixel (%d, %d) is not opaque", backend, x, y)
				}
				pix[i] = append(pix[i], byte(r>>8), byte(g>>8), byte(b>>8))
			}
		}
	}
	off := 0
	for i := range pix[0] {
		if d := int(pix[0][i]) - int(pix[1][i]); d > 1 || d < -1 {
			off++
		}
	}
	if off > len(pix[0])/1000 {
		t.Fatalf("%d of %d values differ by more than one level", off, len(pix[0]))
	}
	bad := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o644)
		return p
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--model", tiny, "--codes", bad("a.json", `{"h":1,"w":2,"codes":[[1]]}`), "--out", filepath.Join(dir, "x.png")}, "row 0"},
		{[]string{"--model", tiny, "--codes", bad("b.json", `{"h":1,"w":1,"codes":[[300]]}`), "--out", filepath.Join(dir, "x.png")}, "codebook"},
		{[]string{"--model", tiny, "--codes", bad("c.json", `{"h":0}`), "--out", filepath.Join(dir, "x.png")}, "grid"},
		{[]string{"--model", tiny, "--codes", bad("d.json", `nope`), "--out", filepath.Join(dir, "x.png")}, "d.json"},
		{[]string{"--model", "../../testdata/tiny.udvla", "--codes", codes, "--out", filepath.Join(dir, "x.png")}, "no vision tokenizer"},
		{[]string{"--model", tiny, "--codes", codes}, "--out"},
	} {
		if _, e, code := runModelCmd(t, append([]string{"vq-decode"}, c.args...)...); code == 0 || !strings.Contains(e, c.want) {
			t.Errorf("%v: exit %d, %q does not say %q", c.args, code, e, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.png")); err == nil {
		t.Error("a refused decode left a PNG")
	}
}
