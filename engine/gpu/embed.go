package gpu

import (
	"fmt"

	"github.com/udvla/udvla/engine/quant"
	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/shaders"
)

// EmbedPart is a run of consecutive rows [First, First+Rows) of a table, as one binding of its
// quants (or plain values) and one of its fp16 scales (q8_0, q4_0 only; ignored otherwise). Row
// First starts QuantOff bytes into Quants and its scales ScaleOff bytes into Scales, so a part may
// begin at any row whatever the device's binding-offset alignment.
type EmbedPart struct {
	First, Rows int
	Quants      vk.Binding
	QuantOff    int64
	Scales      vk.Binding
	ScaleOff    int64
}

// EmbedTable is a [Vocab][Hidden] embedding table in engine/quant's layout, split into parts that
// each lie in one binding (the Emu3-8B table is 1.5 GB in f16, 0.8 GB in q8_0: more than one
// storage binding can cover). The parts must cover [0, Vocab) in order.
type EmbedTable struct {
	DType         quant.DType
	Vocab, Hidden int
	Parts         []EmbedPart
}

// Validate checks the shape and that the parts tile [0, Vocab) within their bindings.
func (t *EmbedTable) Validate() error {
	if err := quant.CheckShape(t.DType, t.Vocab, t.Hidden); err != nil {
		return fmt.Errorf("embed: %w", err)
	}
	if t.Hidden%32 != 0 {
		return fmt.Errorf("embed: hidden %d must be a multiple of 32", t.Hidden)
	}
	rq, rs := quant.RowBytes(t.DType, t.Hidden)
	next := 0
	for i, p := range t.Parts {
		switch {
		case p.First != next || p.Rows <= 0:
			return fmt.Errorf("embed: part %d covers rows [%d,+%d), want it to start at %d", i, p.First, p.Rows, next)
		case p.QuantOff < 0 || p.QuantOff%4 != 0 || p.QuantOff+int64(p.Rows)*int64(rq) > p.Quants.Size:
			return fmt.Errorf("embed: part %d: %d rows of %d bytes at offset %d (a multiple of 4) exceed its %d-byte binding",
				i, p.Rows, rq, p.QuantOff, p.Quants.Size)
		case rs > 0 && (p.ScaleOff < 0 || p.ScaleOff%2 != 0 || p.ScaleOff+int64(p.Rows)*int64(rs) > p.Scales.Size):
			return fmt.Errorf("embed: part %d: %d rows of %d scale bytes at offset %d (even) exceed its %d-byte binding",
				i, p.Rows, rs, p.ScaleOff, p.Scales.Size)
		case p.QuantOff+int64(p.Rows)*int64(rq) > 1<<32 || p.ScaleOff+int64(p.Rows)*int64(rs) > 1<<32:
			return fmt.Errorf("embed: part %d spans more than 4 GiB", i)
		}
		next += p.Rows
	}
	if next != t.Vocab {
		return fmt.Errorf("embed: parts cover %d of %d rows", next, t.Vocab)
	}
	return nil
}

// EmbedTableIn describes a table stored at byte off of buf in engine/quant's layout (the layout of
// a .udvla file: quants, zero padding, scales). It splits the rows at buf's chunk boundaries;
// buf's split unit must keep rows whole (a multiple of the row bytes and of the scale bytes per
// row, or a single chunk).
func EmbedTableIn(buf *vk.Buffer, off int64, dt quant.DType, vocab, hidden int) (*EmbedTable, error) {
	_, scaleOff, total := quant.Layout(dt, vocab, hidden)
	if total < 0 {
		return nil, fmt.Errorf("embed: %v table [%d][%d] has no layout", dt, vocab, hidden)
	}
	if off < 0 || off+total > buf.Size() {
		return nil, fmt.Errorf("embed: table of %d bytes at %d exceeds a %d-byte buffer", total, off, buf.Size())
	}
	rq, rs := quant.RowBytes(dt, hidden)
	cs := buf.ChunkSize()
	t := &EmbedTable{DType: dt, Vocab: vocab, Hidden: hidden}
	// region returns the binding of the chunk holding [at, at+n) and at's offset inside it.
	region := func(at, n int64) (vk.Binding, int64, error) {
		c0 := at / cs
		if (at+n-1)/cs != c0 {
			return vk.Binding{}, 0, fmt.Errorf("embed: a row at byte %d straddles a %d-byte chunk boundary", at, cs)
		}
		b, err := buf.Bind(c0*cs, min(cs, buf.Size()-c0*cs))
		return b, at - c0*cs, err
	}
	for r := 0; r < vocab; {
		qAt := off + int64(r)*int64(rq)
		sAt := off + scaleOff + int64(r)*int64(rs)
		// rows left in the chunks holding row r's quants and scales
		n := int64(vocab - r)
		n = min(n, ((qAt/cs+1)*cs-qAt)/int64(rq))
		if rs > 0 {
			n = min(n, ((sAt/cs+1)*cs-sAt)/int64(rs))
		}
		if n <= 0 {
			n = 1 // row r straddles: region reports it
		}
		p := EmbedPart{First: r, Rows: int(n)}
		var err error
		if p.Quants, p.QuantOff, err = region(qAt, n*int64(rq)); err != nil {
			return nil, err
		}
		p.Scales, p.ScaleOff = p.Quants, 0
		if rs > 0 {
			if p.Scales, p.ScaleOff, err = region(sAt, n*int64(rs)); err != nil {
				return nil, err
			}
		}
		t.Parts = append(t.Parts, p)
		r += int(n)
	}
	return t, t.Validate()
}

// Embed gathers embedding rows by token id into f32 activations (ref.Embed), from a table in f32,
// f16, q8_0 or q4_0.
type Embed struct {
	p      [4]*vk.Pipeline // by quant.DType
	labels [4]string       // "embed q8_0": the profile's name of the kernel
	local  int
}

// embedPush is embed.comp's push_constant block.
type embedPush struct {
	N, Hidden, Vocab uint32
	First, Rows      uint32 // the part's rows of the table
	QOff, SOff       uint32 // bytes into the part's quant and scale bindings
	OwnsInvalid      uint32 // this dispatch writes the zero rows of ids outside the table
}

// NewEmbed creates the pipelines of every storage type on dev.
func NewEmbed(dev *vk.Device) (*Embed, error) {
	const local = 64
	e := &Embed{local: local}
	for _, dt := range quant.DTypes {
		p, err := dev.Pipeline("embed", shaders.MustSPIRV("embed"), []uint32{local, uint32(dt)}, 4, pushSize[embedPush](), 0)
		if err != nil {
			return nil, err
		}
		e.p[dt] = p
		e.labels[dt] = "embed " + dt.String()
	}
	return e, nil
}

// Record writes out [n][Hidden] = table rows ids[0..n). An id outside [0, Vocab) gives a row of
// zeros and reads nothing (the engine validates ids on the host: this only keeps a bad id from
// reading outside the table). One dispatch per part of the table.
func (e *Embed) Record(s *vk.Sequence, t *EmbedTable, ids, out vk.Binding, n int) error {
	const op = "embed"
	if err := t.Validate(); err != nil {
		return err
	}
	if n <= 0 || n > maxGroupsY {
		return fmt.Errorf("%s: %d tokens (1 to %d)", op, n, maxGroupsY)
	}
	if err := needBytes(op, "ids", ids, 4*int64(n)); err != nil {
		return err
	}
	if err := needRows(op, "out", out, n, t.Hidden, t.Hidden); err != nil {
		return err
	}
	gx := groups(t.Hidden/4, e.local)
	for i, part := range t.Parts {
		p := embedPush{N: uint32(n), Hidden: uint32(t.Hidden), Vocab: uint32(t.Vocab), First: uint32(part.First),
			Rows: uint32(part.Rows), QOff: uint32(part.QuantOff), SOff: uint32(part.ScaleOff)}
		// No arithmetic; the n gathered rows written once. Each part's dispatch gathers the ids in
		// its rows: the traffic is counted once, in the first part's dispatch.
		work := vk.Work{Label: e.labels[t.DType]}
		if i == 0 {
			p.OwnsInvalid = 1
			work.Bytes = 4 * float64(n) * float64(t.Hidden)
		}
		s.Dispatch(e.p[t.DType], work, gx, uint32(n), 1, structBytes(&p), vk.R(part.Quants), vk.R(part.Scales), vk.R(ids), vk.W(out))
	}
	return nil
}
