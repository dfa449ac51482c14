package ref

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestMaskLenBaseMatchesReleaseFloat32 checks every step of each preset's loop (CALVIN/LIBERO
// N=817 T=72, Bridge N=708 T=96, T=128, the independent-diffusion loops) against
// testdata/mask_len_f32.txt, a float32 transcription of the release's torch expression written
// by testdata/gen_mask_len.py.
func TestMaskLenBaseMatchesReleaseFloat32(t *testing.T) {
	f, err := os.Open("testdata/mask_len_f32.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type key struct{ n, steps int }
	seen := map[key]int{}
	differs := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		var n, steps, s, want32, want64 int
		if _, err := fmt.Sscan(line, &n, &steps, &s, &want32, &want64); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if got := MaskLenBase(n, s, steps); got != want32 {
			t.Errorf("MaskLenBase(n=%d, s=%d, T=%d) = %d, the release's float32 gives %d", n, s, steps, got, want32)
		}
		if want32 != want64 {
			differs++
		}
		seen[key{n, steps}]++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for _, k := range []key{{817, 72}, {708, 96}, {708, 128}, {817, 128}} {
		if seen[k] != k.steps {
			t.Errorf("vectors cover %d of the %d steps of N=%d T=%d", seen[k], k.steps, k.n, k.steps)
		}
	}
	if differs == 0 {
		t.Error("the vectors never separate float32 from float64; they cannot tell the two apart")
	}
}

// TestMaskLenBridgeStep63 is the case float64 gets wrong: Bridge, N = 708, T = 96, step 63
// (r = 2/3): float32 gives 353, float64 354.
func TestMaskLenBridgeStep63(t *testing.T) {
	if got := MaskLenBase(708, 63, 96); got != 353 {
		t.Errorf("MaskLenBase(708, 63, 96) = %d, want 353", got)
	}
	if got := MaskLen(708, 63, 96, 700); got != 353 {
		t.Errorf("MaskLen(708, 63, 96, 700) = %d, want 353", got)
	}
}
