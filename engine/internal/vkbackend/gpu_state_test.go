package vkbackend

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/udvla/udvla/engine/internal/decode"
	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/seq"
	"github.com/udvla/udvla/engine/vk"
)

// Decoding spaces of another size than a recorded plan's give the reference's tokens: a request
// whose spaces are larger than the last one's, in the same request shape or another, and then the
// smaller shape again. (The device buffers of the spaces must not be replaced under recordings
// that bind them, and a recording serves only the space sizes it was made for.)
func TestDecodingSpacesOfOtherSizes(t *testing.T) {
	b, rm, f := openTiny(t)
	r := rand.New(rand.NewPCG(71, 72))
	base, longer := randomLayout(t, &f.Config, r, 5), randomLayout(t, &f.Config, r, 6)
	// narrow drops the first visual ids from the image space and the first FAST ids from the
	// action space.
	narrow := func(l *seq.Layout) *seq.Layout {
		n := *l
		n.Allowed[seq.SpaceImage] = l.Allowed[seq.SpaceImage][5:]
		n.Allowed[seq.SpaceAction] = l.Allowed[seq.SpaceAction][3:]
		return &n
	}
	for i, l := range []*seq.Layout{narrow(base), base, longer, narrow(base), narrow(longer)} {
		job := &decode.Job{Layout: l, Mode: decode.JD3P, Rule: model.MaskPaper, Seed: r.Uint64(), Steps: f.Config.Decoding.Steps}
		want := refRun(t, rm, job)
		got, err := b.Decode(job)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if !reflect.DeepEqual(got.Region, want.Region) {
			t.Errorf("request %d:\n gpu %v\n ref %v", i, got.Region, want.Region)
		}
	}
}

// Greedy AR leaves the denoising loop's buffers alone: its token and position for the next
// forward go through scratch of their own, not through the sampled tokens and confidences.
func TestARLeavesLoopBuffers(t *testing.T) {
	b, rm, f := openTiny(t)
	r := rand.New(rand.NewPCG(73, 74))
	for _, mode := range []decode.Mode{decode.ARRestricted, decode.AR} {
		job := &decode.Job{Layout: randomLayout(t, &f.Config, r, 4), Mode: mode, Rule: model.MaskRelease, Seed: r.Uint64()}
		poison := bytes.Repeat([]byte{0xa5, 0x5a, 0xc3, 0x3c}, int(b.acts.sampled.Size()/4))
		for _, buf := range []*vk.Buffer{b.acts.sampled, b.acts.conf} {
			if err := buf.Write(0, poison); err != nil {
				t.Fatal(err)
			}
		}
		want := refRun(t, rm, job)
		got, err := b.Decode(job)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.Region, want.Region) {
			t.Errorf("%v:\n gpu %v\n ref %v", mode, got.Region, want.Region)
		}
		for name, buf := range map[string]*vk.Buffer{"sampled": b.acts.sampled, "conf": b.acts.conf} {
			raw := make([]byte, len(poison))
			if err := buf.Read(0, raw); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(raw, poison) {
				t.Errorf("%v: the AR passes wrote the loop's %s buffer", mode, name)
			}
		}
	}
}
