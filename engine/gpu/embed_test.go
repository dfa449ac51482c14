package gpu

import (
	"fmt"
	"testing"

	"github.com/udvla/udvla/engine/quant"
	"github.com/udvla/udvla/engine/ref"
	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/engine/vk/vktest"
)

// embedTable quantizes random values to dt in engine/quant's layout, uploads them and returns the
// buffer, the layout's byte image and the values the stored table decodes to.
func embedTable(t testing.TB, dev *vk.Device, dt quant.DType, vocab, hidden int) (*vk.Buffer, []float32) {
	t.Helper()
	raw, err := quant.Quantize(dt, vocab, hidden, randFloats(seed(t), vocab*hidden, 0.5))
	if err != nil {
		t.Fatal(err)
	}
	vals, err := quant.Dequantize(dt, vocab, hidden, raw)
	if err != nil {
		t.Fatal(err)
	}
	return uploadBytes(t, dev, raw), vals
}

// splitTable describes the table in buf as parts cut before the rows in cuts, each bound from
// the aligned offset at or below its first row, as a table spread over several bindings is.
func splitTable(t testing.TB, buf *vk.Buffer, dt quant.DType, vocab, hidden int, cuts []int) *EmbedTable {
	t.Helper()
	_, so, _ := quant.Layout(dt, vocab, hidden)
	rq, rs := quant.RowBytes(dt, hidden)
	tb := &EmbedTable{DType: dt, Vocab: vocab, Hidden: hidden}
	bindFrom := func(at, end int64) (vk.Binding, int64) {
		base := at / 256 * 256
		b, err := buf.Bind(base, end-base)
		if err != nil {
			t.Fatal(err)
		}
		return b, at - base
	}
	edges := append(append([]int{0}, cuts...), vocab)
	for i := 0; i+1 < len(edges); i++ {
		p := EmbedPart{First: edges[i], Rows: edges[i+1] - edges[i]}
		p.Quants, p.QuantOff = bindFrom(int64(p.First*rq), int64(edges[i+1]*rq))
		p.Scales, p.ScaleOff = p.Quants, 0
		if rs > 0 {
			p.Scales, p.ScaleOff = bindFrom(so+int64(p.First*rs), so+int64(edges[i+1]*rs))
		}
		tb.Parts = append(tb.Parts, p)
	}
	return tb
}

// The gather copies (dequantized) values, exact in fp32 for every storage type (an int8 or a
// 4-bit quant times an fp16 scale is exact): the test demands equality, and zero rows for ids
// outside the vocabulary.
func TestEmbed(t *testing.T) {
	dev := vktest.Device(t)
	k, err := NewEmbed(dev)
	if err != nil {
		t.Fatal(err)
	}
	r := seed(t)
	for _, dt := range quant.DTypes {
		for _, c := range []struct {
			vocab, hidden, n int
			cuts             []int
		}{
			{1, 32, 1, nil}, {1001, 96, 7, nil}, {1001, 96, 817, []int{1, 333, 334, 999}}, {77, 4096 + 96, 33, []int{40}},
		} {
			name := fmt.Sprintf("%v vocab=%d hidden=%d n=%d parts=%d", dt, c.vocab, c.hidden, c.n, len(c.cuts)+1)
			buf, vals := embedTable(t, dev, dt, c.vocab, c.hidden)
			var tb *EmbedTable
			if c.cuts == nil {
				if tb, err = EmbedTableIn(buf, 0, dt, c.vocab, c.hidden); err != nil {
					t.Fatal(err)
				}
			} else {
				tb = splitTable(t, buf, dt, c.vocab, c.hidden, c.cuts)
			}
			ids := make([]int32, c.n)
			for i := range ids {
				ids[i] = int32(r.IntN(c.vocab))
			}
			ids[c.n-1] = int32(c.vocab - 1)
			valid := append([]int32(nil), ids...)
			if c.n > 2 { // two bad ids: their rows must be zero
				ids[1], ids[c.n/2] = -5, int32(c.vocab)
				valid[1], valid[c.n/2] = 0, 0
			}
			want, err := ref.Embed(vals, c.vocab, c.hidden, valid)
			if err != nil {
				t.Fatal(err)
			}
			if c.n > 2 {
				clear(want[c.hidden : 2*c.hidden])
				clear(want[c.n/2*c.hidden : (c.n/2+1)*c.hidden])
			}
			ib, ob := uploadI32(t, dev, ids), poisoned(t, dev, c.n*c.hidden)
			run(t, dev, func(s *vk.Sequence) { mustRecord(t, k.Record(s, tb, bind(t, ib), bind(t, ob), c.n)) })
			got := download(t, ob, c.n*c.hidden)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%s: out[%d][%d] = %g, want %g (id %d)", name, i/c.hidden, i%c.hidden, got[i], want[i], ids[i/c.hidden])
				}
			}
		}
	}
}

func TestEmbedRejectsBadTables(t *testing.T) {
	dev := vktest.Device(t)
	k, err := NewEmbed(dev)
	if err != nil {
		t.Fatal(err)
	}
	buf, _ := embedTable(t, dev, quant.Q4_0, 100, 64)
	if _, err := EmbedTableIn(buf, 0, quant.Q4_0, 101, 64); err == nil {
		t.Error("a table larger than its buffer accepted")
	}
	if _, err := EmbedTableIn(buf, 0, quant.Q4_0, 100, 48); err == nil {
		t.Error("hidden 48 accepted for q4_0")
	}
	good := splitTable(t, buf, quant.Q4_0, 100, 64, []int{50})
	gap := *good
	gap.Parts = []EmbedPart{good.Parts[0]}
	odd := *good
	odd.Parts = append([]EmbedPart(nil), good.Parts...)
	odd.Parts[1].QuantOff += 2
	ids, out := bind(t, uploadI32(t, dev, []int32{1, 2})), bind(t, poisoned(t, dev, 2*64))
	s, err := dev.NewSequence()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for name, tb := range map[string]*EmbedTable{"missing rows": &gap, "unaligned offset": &odd} {
		if k.Record(s, tb, ids, out, 2) == nil {
			t.Errorf("%s accepted", name)
		}
	}
	if k.Record(s, good, ids, out, 3) == nil {
		t.Error("3 tokens with 2 ids accepted")
	}
	if s.Len() != 0 {
		t.Fatalf("rejected records left %d commands", s.Len())
	}
}

// BenchmarkEmbed: 817 tokens of the Emu3 hidden size 4096 from a 4096-row table of each type.
func BenchmarkEmbed(b *testing.B) {
	dev := benchDevice(b)
	k, err := NewEmbed(dev)
	if err != nil {
		b.Fatal(err)
	}
	const vocab, hidden, n = 4096, 4096, 817
	r := seed(b)
	ids := make([]int32, n)
	for i := range ids {
		ids[i] = int32(r.IntN(vocab))
	}
	ib, ob := uploadI32(b, dev, ids), poisoned(b, dev, n*hidden)
	for _, dt := range quant.DTypes {
		b.Run(dt.String(), func(b *testing.B) {
			buf, _ := embedTable(b, dev, dt, vocab, hidden)
			tb, err := EmbedTableIn(buf, 0, dt, vocab, hidden)
			if err != nil {
				b.Fatal(err)
			}
			rq, rs := quant.RowBytes(dt, hidden)
			bytes := float64(n * (rq + rs + 4*hidden))
			benchRun(b, dev, bytes, 0, func(s *vk.Sequence) { mustRecord(b, k.Record(s, tb, bind(b, ib), bind(b, ob), n)) })
		})
	}
}
