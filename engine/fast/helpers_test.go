package fast

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

const testdata = "../../testdata/fast"

// realTokenizer describes one released FAST tokenizer and the action shape it is used with.
type realTokenizer struct {
	dir   string
	stats string
	T, D  int
}

var realTokenizers = []realTokenizer{
	{"fast_calvin_norm_a10_s50", "norm_stats_calvin.json", 10, 7},
	{"fast_bridge_t5_s50", "norm_stats_bridge.json", 5, 7},
	{"fast", "norm_stats_libero.json", 10, 7}, // universal FAST+
}

func loadReal(t testing.TB, r realTokenizer) (*Tokenizer, []float64, []float64) {
	t.Helper()
	tok, err := LoadDir(filepath.Join(testdata, r.dir), r.T, r.D)
	if err != nil {
		t.Fatal(err)
	}
	q01, q99, err := LoadStats(filepath.Join(testdata, r.stats))
	if err != nil {
		t.Fatal(err)
	}
	return tok, q01, q99
}

// realVocab reads the model vocabulary of a tokenizer.json directly.
func realVocab(t testing.TB, dir string) map[string]int32 {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(testdata, dir, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Model struct {
			Vocab map[string]int32 `json:"vocab"`
		} `json:"model"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	return f.Model.Vocab
}

// smoothTrajectory draws a realistic action chunk in raw units: per dimension an offset plus a
// few low-frequency sinusoids and a little noise, scaled to the quantile range (sometimes
// overshooting it, so clipping is exercised), and a gripper at one end of its quantile range
// (closed or open) that may switch once.
func smoothTrajectory(rng *rand.Rand, T, D int, q01, q99 []float64) [][]float64 {
	x := make([][]float64, T)
	for j := range x {
		x[j] = make([]float64, D)
	}
	for d := 0; d < D-1; d++ {
		mid, half := (q01[d]+q99[d])/2, (q99[d]-q01[d])/2
		off := (rng.Float64()*2 - 1) * 0.6
		var amp, freq, phase [3]float64
		for i := range amp {
			amp[i] = rng.Float64() * 0.3 / float64(i+1)
			freq[i] = rng.Float64() * 1.5 * float64(i+1)
			phase[i] = rng.Float64() * 2 * math.Pi
		}
		for j := 0; j < T; j++ {
			v := off + 0.01*rng.NormFloat64()
			for i := range amp {
				v += amp[i] * math.Sin(2*math.Pi*freq[i]*float64(j)/float64(T)+phase[i])
			}
			x[j][d] = mid + half*v
		}
	}
	ends := [2]float64{q01[D-1], q99[D-1]}
	g, switchAt := rng.IntN(2), rng.IntN(2*T)
	for j := 0; j < T; j++ {
		if j == switchAt {
			g = 1 - g
		}
		x[j][D-1] = ends[g]
	}
	return x
}
