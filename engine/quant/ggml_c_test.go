package quant

import (
	"bytes"
	"encoding/binary"
	"math"
	"os/exec"
	"path/filepath"
	"testing"
)

// The Go quantizers give the bytes of ggml's reference C code (testdata/ggml_blocks.c, compiled
// here with the system C compiler) on random rows with ties, tiny and zero blocks mixed in.
func TestMatchesGgmlC(t *testing.T) {
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler: cannot build the ggml reference")
	}
	bin := filepath.Join(t.TempDir(), "ggml_blocks")
	if out, err := exec.Command(cc, "-O2", "-ffp-contract=off", "-o", bin, "testdata/ggml_blocks.c", "-lm").CombinedOutput(); err != nil {
		t.Skipf("cannot build the ggml reference (%v): %s", err, out)
	}
	r := freshRand(t)
	rows, cols := 37, 160
	x := randomMatrix(r, rows, cols)
	for i := range x {
		switch r.IntN(20) {
		case 0: // exact halves of the q8_0 step in a block whose max is 127: ties
			x[i] = float32(r.IntN(254)-127) + 0.5
		case 1:
			x[i] = float32(r.NormFloat64() * 1e-30)
		}
	}
	copy(x[:32], make([]float32, 32))            // a zero block
	x[cols], x[cols+1] = 127, -127               // a block with scale exactly 1
	x[2*cols], x[2*cols+5] = -8, 8               // q4_0: equal magnitudes, the first wins
	x[3*cols] = math.Float32frombits(0x00000003) // a subnormal block max
	for _, dt := range []DType{Q8_0, Q4_0} {
		in := []byte{byte(dt)}
		in = binary.LittleEndian.AppendUint32(in, uint32(len(x)))
		for _, v := range x {
			in = binary.LittleEndian.AppendUint32(in, math.Float32bits(v))
		}
		cmd := exec.Command(bin)
		cmd.Stdin = bytes.NewReader(in)
		want, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		got, err := Quantize(dt, rows, cols, x)
		if err != nil {
			t.Fatal(err)
		}
		// regroup our layout (quants, padding, scales) into ggml blocks (scale, quants)
		_, so, _ := Layout(dt, rows, cols)
		bq := BlockSize
		if dt == Q4_0 {
			bq = BlockSize / 2
		}
		var blocks []byte
		for b := 0; b < len(x)/BlockSize; b++ {
			blocks = append(blocks, got[so+int64(2*b):so+int64(2*b+2)]...)
			blocks = append(blocks, got[b*bq:(b+1)*bq]...)
		}
		if !bytes.Equal(blocks, want) {
			for b := 0; b*(bq+2) < len(want); b++ {
				if !bytes.Equal(blocks[b*(bq+2):(b+1)*(bq+2)], want[b*(bq+2):(b+1)*(bq+2)]) {
					t.Fatalf("%v block %d: got % x, ggml % x (x = %v)", dt, b, blocks[b*(bq+2):(b+1)*(bq+2)], want[b*(bq+2):(b+1)*(bq+2)], x[b*32:(b+1)*32])
				}
			}
		}
	}
}
