package textok

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"
)

// NFC equals Python's unicodedata.normalize("NFC") on the vectors testdata/nfc_vectors.py made,
// runs of more than 30 combining marks included, where x/text alone inserts U+034F.
func TestNFCMatchesPython(t *testing.T) {
	raw, err := os.ReadFile("testdata/nfc_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Vectors [][2]string `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Vectors) < 60 {
		t.Fatalf("only %d vectors", len(f.Vectors))
	}
	differ := 0
	for i, v := range f.Vectors {
		if norm.NFC.String(v[0]) != v[1] {
			differ++
		}
		if got := NFC(v[0]); got != v[1] {
			t.Errorf("vector %d: NFC(%+q) = %+q, Python %+q", i, v[0], got, v[1])
		}
	}
	if differ == 0 {
		t.Fatal("no vector tells x/text's stream-safe NFC from Python's")
	}
	t.Logf("%d vectors, %d of which x/text alone normalises differently", len(f.Vectors), differ)
}

// The tokenizer normalises as the reference does: a long run of combining marks encodes to the
// bytes of Python's NFC, with no U+034F added.
func TestEncodeLongMarkRunHasNoCGJ(t *testing.T) {
	tok, _ := newTestTokenizer(t, rand.New(rand.NewPCG(7, 8)))
	text := "a" + strings.Repeat("\u0302", 35) + "\u0323"
	want := "\u1ead" + strings.Repeat("\u0302", 34)
	got, err := tok.DecodeString(tok.Encode(text))
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("encode/decode gives %+q, want %+q", got, want)
	}
}
