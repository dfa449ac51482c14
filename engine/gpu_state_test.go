package engine

import (
	"bytes"
	"context"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/ref"
	"github.com/udvla/udvla/engine/seq"
	"github.com/udvla/udvla/engine/vk"
)

// Decoding spaces of another size than a recorded plan's give the reference's tokens: a request
// whose spaces are larger than the last one's, in the same request shape or another, and then the
// smaller shape again. (The device buffers of the spaces must not be replaced under recordings
// that bind them, and a recording serves only the space sizes it was made for.)
func TestDecodingSpacesOfOtherSizes(t *testing.T) {
	g, _ := openPair(t, tinyModel)
	vb := g.be.(*vkBackend)
	rm, err := ref.NewModel(g.file.Config.Arch, g.file.Float32)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(71, 72))
	base := randomRequest(g.Config(), r)
	base.Mask = model.MaskPaper
	// narrow drops the first visual ids from the image space and the first FAST ids from the
	// action space.
	narrow := func(l *seq.Layout) *seq.Layout {
		n := *l
		n.Allowed[seq.SpaceImage] = l.Allowed[seq.SpaceImage][5:]
		n.Allowed[seq.SpaceAction] = l.Allowed[seq.SpaceAction][3:]
		return &n
	}
	longer := *base
	longer.Instruction = append(append([]int32{}, base.Instruction...), 40)
	for i, c := range []struct {
		req    *Request
		narrow bool
	}{{base, true}, {base, false}, {&longer, false}, {base, true}, {&longer, true}} {
		l, steps, err := g.layout(c.req)
		if err != nil {
			t.Fatal(err)
		}
		if c.narrow {
			l = narrow(l)
		}
		want, err := rm.JD3P(l, ref.Options{Seed: c.req.Seed, Steps: steps, Mask: c.req.Mask, Cache: true})
		if err != nil {
			t.Fatal(err)
		}
		got, err := vb.decode(context.Background(), l, c.req, steps, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if !reflect.DeepEqual(got.region, want.Region) {
			t.Errorf("request %d (narrow %v):\n gpu %v\n ref %v", i, c.narrow, got.region, want.Region)
		}
	}
}

// Greedy AR leaves the denoising loop's buffers alone: its token and position for the next
// forward go through scratch of their own, not through the sampled tokens and confidences.
func TestARLeavesLoopBuffers(t *testing.T) {
	g, refEng := openPair(t, tinyModel)
	vb := g.be.(*vkBackend)
	r := rand.New(rand.NewPCG(73, 74))
	for _, mode := range []Mode{ModeARRestricted, ModeAR} {
		req := randomRequest(g.Config(), r)
		req.Mode = mode
		poison := bytes.Repeat([]byte{0xa5, 0x5a, 0xc3, 0x3c}, int(vb.acts.sampled.Size()/4))
		if err := vb.acts.sampled.Write(0, poison); err != nil {
			t.Fatal(err)
		}
		if err := vb.acts.conf.Write(0, poison); err != nil {
			t.Fatal(err)
		}
		stepBoth(t, g, refEng, req)
		for name, buf := range map[string]*vk.Buffer{"sampled": vb.acts.sampled, "conf": vb.acts.conf} {
			got := make([]byte, len(poison))
			if err := buf.Read(0, got); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, poison) {
				t.Errorf("%v: the AR passes wrote the loop's %s buffer", mode, name)
			}
		}
	}
}
