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
	Mask  model.MaskRule // MaskRelease, MaskPaper or MaskReleaseKV, named explicitly; AR always decodes causally
	// Cache prefills, once per control step, the part of the prefix that sees nothing after it and
	// forwards only the rest at each step: exact either way. Under the paper rule that is the whole
	// prefix; under the release rule the text (BOS and the instruction), since the current images
	// see the region. MaskReleaseKV always caches the whole prefix: that is the mode. Greedy AR is
	// always KV-cached.
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
	case model.MaskPaper, model.MaskRelease, model.MaskReleaseKV:
	default:
		return fmt.Errorf("decode: diffusion decoding needs the paper, release or release-kv mask, not %v", opt.Mask)
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
//
// With a cache, positions [0, cached) are forwarded once, into the K/V cache, and every step
// forwards positions [cached, P+N) attending [cache ; current]. Under the paper and release rules
// cached is a closed prefix (seq.Mask.Closed), so the result equals the uncached forward. Under
// release-kv cached is P and the prefix rows attend only to the prefix, which is the mode.
type regionForward struct {
	m          *Model
	l          *seq.Layout
	rule       model.MaskRule
	cache      *KVCache
	cached     int       // positions held by cache (0 without one)
	prefixLast []float32 // with cached == P: the hidden state of position P-1
	paper      *seq.Mask
}

func newRegionForward(m *Model, l *seq.Layout, opt Options) (*regionForward, error) {
	f := &regionForward{m: m, l: l, rule: opt.Mask}
	if opt.Mask == model.MaskPaper {
		f.paper = seq.PaperMask(l)
	}
	f.cached = CachedPrefix(l, opt.Mask, opt.Cache)
	if f.cached == 0 {
		return f, nil
	}
	mask, err := f.mask(l.Region)
	if err != nil {
		return nil, err
	}
	f.cache = NewKVCache(m.Arch)
	h, err := m.Hidden(l.Prefix[:f.cached], positions(0, f.cached), ForwardOptions{Mask: mask, Cache: f.cache, Append: true})
	if err != nil {
		return nil, err
	}
	if f.cached == l.P() {
		f.prefixLast = h[(l.P()-1)*m.Arch.Hidden:]
	}
	return f, nil
}

// CachedPrefix is the number of prefix positions a denoising run under rule forwards once per
// control step into the K/V cache (0: none): with cache, the longest prefix that is closed under
// the rule (the whole prefix under the paper rule, the text under the release rule), and the
// whole prefix under release-kv whatever cache says.
func CachedPrefix(l *seq.Layout, rule model.MaskRule, cache bool) int {
	switch {
	case rule == model.MaskReleaseKV:
		return l.P()
	case !cache:
		return 0
	case rule == model.MaskPaper:
		return l.P()
	case rule == model.MaskRelease:
		m := seq.ReleaseMask(l.Sequence(l.Region), l.Vocab)
		for t := l.TextLen; t > 0; t-- {
			if m.Closed(t) {
				return t
			}
		}
	}
	return 0
}

// mask is the step's mask over prefix + input: the release rules read the ids of the input.
func (f *regionForward) mask(input []int32) (Mask, error) {
	switch f.rule {
	case model.MaskPaper:
		return f.paper, nil
	case model.MaskRelease, model.MaskReleaseKV:
		return seq.ReleaseMask(f.l.Sequence(input), f.l.Vocab), nil
	}
	return nil, fmt.Errorf("decode: no region forward under the %v rule", f.rule)
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
	p, n, c := l.P(), l.N(), f.cached
	mask, err := f.mask(input)
	if err != nil {
		return nil, err
	}
	all := l.Sequence(input)
	opt := ForwardOptions{Mask: mask}
	if f.cache != nil {
		opt.Cache = f.cache
	}
	h, err := f.m.Hidden(all[c:], positions(c, p+n-c), opt)
	if err != nil {
		return nil, err
	}
	rows := make([][]float32, n)
	for j := 0; j < n; j++ {
		if i := p + j - 1 - c; i >= 0 {
			rows[j] = h[i*hd : (i+1)*hd]
		} else {
			rows[j] = f.prefixLast
		}
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
