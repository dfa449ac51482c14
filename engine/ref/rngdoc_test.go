package ref

import (
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestRNGDocTable keeps the reference values of docs/RNG.md section 7 in step with the code.
func TestRNGDocTable(t *testing.T) {
	doc, err := os.ReadFile("../../docs/RNG.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(doc), "## 7. Reference values")
	if !ok {
		t.Fatal("docs/RNG.md has no reference-value section")
	}
	rows := 0
	for _, line := range strings.Split(table, "\n") {
		f := strings.Split(strings.Trim(line, "| "), "|")
		if len(f) != 8 || !strings.HasPrefix(strings.TrimSpace(f[0]), "0x") {
			continue
		}
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		seed, err1 := strconv.ParseUint(f[0][2:], 16, 64)
		step, err2 := strconv.Atoi(f[1])
		pos, err3 := strconv.Atoi(f[2])
		index, err4 := strconv.Atoi(f[3])
		purpose, err5 := strconv.ParseUint(f[4], 10, 32)
		x, err6 := strconv.ParseUint(f[5], 16, 32)
		u, err7 := strconv.ParseFloat(f[6], 64)
		g, err8 := strconv.ParseFloat(f[7], 64)
		for _, e := range []error{err1, err2, err3, err4, err5, err6, err7, err8} {
			if e != nil {
				t.Fatalf("row %q: %v", line, e)
			}
		}
		w := RandomWord(seed, step, pos, index, uint32(purpose))
		gotU := float64(UniformFromWord(w))
		gotG := GumbelFromUniform(UniformFromWord(w))
		if uint64(w) != x || math.Abs(gotU-u) > 1e-8 || math.Abs(gotG-g) > 1e-8 {
			t.Fatalf("row %q: code gives %08x %.9g %.9f", line, w, gotU, gotG)
		}
		rows++
	}
	if rows < 5 {
		t.Fatalf("only %d reference rows found", rows)
	}
}
