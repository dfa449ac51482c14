package ref

import (
	"fmt"
	"math"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/seq"
)

// Options configure a decoding run of one control step.
type Options struct {
	Seed  uint64
	Steps int            // T, denoising steps of each loop (ignored by greedy AR)
	Mask  model.MaskRule // MaskRelease or MaskPaper, named explicitly; AR always decodes causally
	// Cache prefills the prefix K/V once and forwards only the region at each step. Exact only under
	// the paper rule, so it is refused under the release rule. Greedy AR is always KV-cached.
	Cache bool
	Trace bool // record every decision (Result.Trace)
	// ActionSteps is the action loop's steps of independent diffusion (Steps is its image loop's).
	ActionSteps int
	// Continue, when set, is asked before every JD3P step; when it returns false the loop stops
	// (the first step always runs) and the result is the last step's sampled tokens (anytime
	// decoding).
	Continue func(step int) bool
}

// Result is the outcome of one control step.
type Result struct {
	Region      []int32   // the generated region, N tokens
	Actions     []int32   // token ids strictly between BOA and the first EOA (to the end when no EOA)
	FutureCodes [][]int32 // per camera, H*W row-major: visual code (id - VisualOffset), or -1
	EOAFound    bool
	Forwards    int // forward passes of the decoding loop(s), the prefix prefill excluded
	Generated   int // generated tokens, for tokens per second (diffusion: N; AR: up to the EOA)
	Trace       *Trace
	StepsRun    int // denoising steps run (JD3P; fewer than Steps when Continue stopped the loop)
}

// checkLayout makes sure every id the layout can produce or feed lies in the model's vocabulary.
func (m *Model) checkLayout(l *seq.Layout) error {
	if l == nil || l.Vocab == nil {
		return fmt.Errorf("decode: no layout")
	}
	vocab := int32(m.Arch.Vocab)
	check := func(what string, ids []int32) error {
		for i, id := range ids {
			if id < 0 || id >= vocab {
				return fmt.Errorf("decode: %s id %d at %d is outside the model's vocabulary of %d", what, id, i, vocab)
			}
		}
		return nil
	}
	v := l.Vocab
	if err := check("special", []int32{v.Mask, v.EOA, v.BOA, v.Pad}); err != nil {
		return err
	}
	if err := check("prefix", l.Prefix); err != nil {
		return err
	}
	if err := check("region", l.Region); err != nil {
		return err
	}
	for s := range l.Allowed {
		if len(l.Allowed[s]) == 0 {
			return fmt.Errorf("decode: decoding space %d is empty", s)
		}
		if err := check("decoding-space", l.Allowed[s]); err != nil {
			return err
		}
	}
	return nil
}

func checkSteps(opt Options) error {
	if opt.Steps < 1 || opt.Steps > 1<<14 {
		return fmt.Errorf("decode: %d steps (want 1..%d)", opt.Steps, 1<<14)
	}
	switch opt.Mask {
	case model.MaskPaper:
	case model.MaskRelease:
		if opt.Cache {
			return fmt.Errorf("decode: the release mask lets the prefix see the region, so its K/V cannot be cached exactly")
		}
	default:
		return fmt.Errorf("decode: diffusion decoding needs the paper or release mask, not %v", opt.Mask)
	}
	return nil
}

// modelInput is the region as fed to the model (spec §5 step 1): after the first EOA of the state,
// every position is MASK. The state itself keeps its tokens.
func modelInput(g []int32, v *model.Vocab) []int32 {
	in := append([]int32(nil), g...)
	if e := firstIndex(g, v.EOA); e >= 0 {
		for j := e + 1; j < len(in); j++ {
			in[j] = v.Mask
		}
	}
	return in
}

func firstIndex(ids []int32, id int32) int {
	for i, t := range ids {
		if t == id {
			return i
		}
	}
	return -1
}

// regionForward runs the model over prefix + region under one mask rule and returns, for every
// region position j, the final hidden state of absolute position P+j-1: the logits of position i
// predict the token at i+1 (spec §5 step 3), so region position 0 takes the last prefix token's.
type regionForward struct {
	m          *Model
	l          *seq.Layout
	rule       model.MaskRule
	cache      *KVCache  // paper rule with Cache: the prefix K/V
	prefixLast []float32 // with cache: the hidden state of position P-1
	paper      *seq.Mask
}

func newRegionForward(m *Model, l *seq.Layout, opt Options) (*regionForward, error) {
	f := &regionForward{m: m, l: l, rule: opt.Mask}
	if opt.Mask == model.MaskPaper {
		f.paper = seq.PaperMask(l)
	}
	if !opt.Cache {
		return f, nil
	}
	// Under the paper mask the prefix sees nothing of the region: prefill it once.
	f.cache = NewKVCache(m.Arch)
	h, err := m.Hidden(l.Prefix, positions(0, l.P()), ForwardOptions{Mask: f.paper, Cache: f.cache, Append: true})
	if err != nil {
		return nil, err
	}
	hd := m.Arch.Hidden
	f.prefixLast = h[(l.P()-1)*hd:]
	return f, nil
}

func positions(from, n int) []int32 {
	p := make([]int32, n)
	for i := range p {
		p[i] = int32(from + i)
	}
	return p
}

// hidden returns [N][hidden]: row j is the hidden state that predicts region position j.
func (f *regionForward) hidden(input []int32) ([][]float32, error) {
	l, hd := f.l, f.m.Arch.Hidden
	p, n := l.P(), l.N()
	rows := make([][]float32, n)
	if f.cache != nil {
		h, err := f.m.Hidden(input, positions(p, n), ForwardOptions{Mask: f.paper, Cache: f.cache})
		if err != nil {
			return nil, err
		}
		rows[0] = f.prefixLast
		for j := 1; j < n; j++ {
			rows[j] = h[(j-1)*hd : j*hd]
		}
		return rows, nil
	}
	mask := f.paper
	if f.rule == model.MaskRelease {
		mask = seq.ReleaseMask(l.Sequence(input), l.Vocab)
	}
	h, err := f.m.Hidden(l.Sequence(input), positions(0, p+n), ForwardOptions{Mask: mask})
	if err != nil {
		return nil, err
	}
	for j := 0; j < n; j++ {
		rows[j] = h[(p+j-1)*hd : (p+j)*hd]
	}
	return rows, nil
}

// gumbelMax samples from softmax(logits) over ids by the Gumbel-max trick: the token maximising
// logit_v + G(seed, step, position, v, purpose), ties to the smaller id (ids are sorted). It also
// returns p(token) = softmax(logits)[token] in float64 and the decision margin, best minus second
// best perturbed logit (+Inf when there is a single candidate).
func gumbelMax(logits []float32, ids []int32, seed uint64, step, position int, purpose uint32) (tok int32, p, margin float64) {
	best, second := math.Inf(-1), math.Inf(-1)
	bi := 0
	for i, id := range ids {
		z := float64(logits[i]) + Gumbel(seed, step, position, int(id), purpose)
		if z > best {
			best, second, bi = z, best, i
		} else if z > second {
			second = z
		}
	}
	return ids[bi], softmaxAt(logits, bi), best - second
}

// softmaxAt is softmax(logits)[i], with the maximum subtracted and the sum in float64.
func softmaxAt(logits []float32, i int) float64 {
	mx := math.Inf(-1)
	for _, z := range logits {
		mx = math.Max(mx, float64(z))
	}
	var sum float64
	for _, z := range logits {
		sum += math.Exp(float64(z) - mx)
	}
	return math.Exp(float64(logits[i])-mx) / sum
}

// finish cuts the output at the first EOA and reads the future images back as codes.
func finish(l *seq.Layout, region []int32) *Result {
	o := l.Outputs(region)
	return &Result{Region: region, Actions: o.Actions, FutureCodes: o.FutureCodes, EOAFound: o.EOAFound}
}
