// Package engine runs UD-VLA control steps: it opens a .udvla model on a Vulkan device (or on the
// CPU reference), builds the sequence of a step (spec §3), decodes future-image and action tokens
// (JD3P, or the AR and independent-diffusion baselines) and turns the action tokens into actions.
package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/udvla/udvla/engine/frame"
	"github.com/udvla/udvla/engine/internal/decode"
	"github.com/udvla/udvla/engine/internal/vkbackend"
	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/seq"
)

// Mode is the decoding algorithm of a step.
type Mode int

// The values are those of the C ABI's UDVLA_MODE_*: 1 keeps the space-restricted AR it always
// meant; the release's AR is new, 3.
const (
	ModeJD3P Mode = iota // joint discrete denoising of image and action tokens (spec §5)
	// ModeARRestricted is greedy AR on a JD3P checkpoint: each position's decoding space, the
	// pre-filled BOI/EOI/BOA inserted (KV-cached, one token per forward).
	ModeARRestricted
	// ModeID is independent diffusion as the release runs it: an image loop (64 steps) over the
	// prefix and the image positions, then an action loop (28 steps, tau 0, slots after the first
	// EOA frozen).
	ModeID
	// ModeAR is the release's AR baseline for an AR checkpoint: unconstrained greedy generation of
	// the region from the prefix, nothing pre-filled, stopping at EOA or after N tokens.
	ModeAR
)

// Modes lists every mode.
var Modes = []Mode{ModeJD3P, ModeARRestricted, ModeID, ModeAR}

func (m Mode) String() string {
	switch m {
	case ModeJD3P:
		return "jd3p"
	case ModeARRestricted:
		return "ar-restricted"
	case ModeID:
		return "id"
	case ModeAR:
		return "ar"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// ParseMode is the inverse of String.
func ParseMode(s string) (Mode, error) {
	for _, m := range Modes {
		if m.String() == s {
			return m, nil
		}
	}
	return 0, fmt.Errorf("unknown mode %q (want jd3p, id, ar or ar-restricted)", s)
}

// autoregressive tells the modes that generate one token per forward pass.
func (m Mode) autoregressive() bool { return decodeModes[m].Autoregressive() }

// decodeModes are the backends' names of the modes.
var decodeModes = map[Mode]decode.Mode{ModeJD3P: decode.JD3P, ModeARRestricted: decode.ARRestricted,
	ModeID: decode.ID, ModeAR: decode.AR}

// Backend is what executes the model.
type Backend int

const (
	BackendVulkan    Backend = iota // the engine proper: Vulkan compute on the chosen device
	BackendReference                // engine/ref on the CPU: the executable specification, slow
)

// Options configure Open.
type Options struct {
	Backend Backend
	// Device selects the Vulkan device by index or name substring (default: UDVLA_DEVICE, else
	// the best one). Validate turns on the Khronos validation layer (so does UDVLA_VALIDATE=1).
	Device   string
	Validate bool
	// MaxInstruction bounds the instruction tokens of a request; it sizes the device buffers.
	// Zero means 128. Open refuses a value above what one forward embeds for the model
	// (InstructionLimitError names the limit: gpu.MaxTokens less BOS, the camera blocks and the
	// region). Logits takes longer sequences: it grows the buffers when it needs to.
	MaxInstruction int
	// Kernels overrides the device's kernel table per op family, as "family=variant,..."
	// (engine/gpu/kernels.go; empty takes UDVLA_KERNELS, else the table's choice). An unknown
	// variant, or one the device cannot run, fails Open.
	Kernels string
}

// Request is one control step. A JD3P request whose context has a deadline decodes anytime:
// before the steps after the first, the engine runs only those that, judged by the longest step so
// far, would finish by the deadline; when none would, it returns the last step's sampled tokens
// marked Result.Early. The first step always runs, even past the deadline: without it there is no answer.
// Other modes fail when the deadline passes.
type Request struct {
	Instruction     []int32   // instruction text tokens (BOS is added by the engine)
	InstructionText string    // used when Instruction is empty and the model packs a text vocabulary
	Codes           [][]int32 // per camera of the model, H*W visual codes row-major
	Seed            uint64
	Steps           int  // denoising steps T; 0 takes the model's default
	Mode            Mode // JD3P (default), ID, AR or AR-restricted
	// Mask's zero value (model.MaskDefault) runs the model file's rule: release for every released
	// checkpoint. MaskPaper is an opt-in speed mode whose prefix is cached exactly; its outputs
	// differ from what the weights were trained for. MaskReleaseKV is the release's KV-cached
	// variant, opt-in: its prefix attends only to itself, so its outputs differ from release.
	Mask model.MaskRule
	// NoCache recomputes the whole prefix at every step. Without it the prefix positions that
	// see nothing after them are forwarded once per control step: the whole prefix under the
	// paper rule, the text under the release rule, with bit-identical results. Release-kv always
	// caches its prefix: that is the mode.
	NoCache bool
	// ActionSteps is the action loop's steps of independent diffusion; 0 takes the release's 28.
	// (Its image loop runs Steps, 0 taking the release's 64.)
	ActionSteps int
	// Frames are camera frames (RGB8, any size) that the engine tokenizes with the model's vision
	// tokenizer, per camera in the model's order: each is resized to the camera's grid times the
	// tokenizer's spatial factor (8 for the release: 200x200, 80x80) as Pillow does, or passes
	// through at that size. A camera takes a frame or codes, not both: nil entries (and cameras
	// past the end) take Codes.
	Frames []*frame.Frame
	// DecodeFuture asks for Result.FutureFrames: the step's future codes decoded by the vision
	// tokenizer.
	DecodeFuture bool
}

// Timings of a step.
type Timings struct {
	// Compile is the first use of a request shape on the Vulkan backend: recording its command
	// buffers and one warm-up run of each, in which the driver compiles the pipelines (zero when
	// the shape was seen before, and on the reference backend).
	Compile time.Duration
	Prefill time.Duration   // the prefix forward (zero when it is recomputed each step)
	Steps   []time.Duration // each decoding step or AR token, host wall time
	Total   time.Duration   // the whole Step call
	Loop    time.Duration   // the decoding loop alone (tokens per second use it)
	GPU     time.Duration   // device time from timestamps, when the device has them
	// Encode is the request's frames turned into codes (resize, normalise, the vision tokenizer's
	// encoder, its first upload included); FutureDecode the future frames decoded. Zero without.
	Encode, FutureDecode time.Duration
}

// Result of one control step.
type Result struct {
	Region       []int32   // the generated region, all N positions
	FutureCodes  [][]int32 // per camera, H*W codes; -1 where the token is not a visual token
	ActionTokens []int32   // token ids strictly between BOA and the first EOA
	EOAFound     bool
	// Actions is the decoded action chunk (Horizon x Dims, un-normalised when the model has
	// statistics); nil when the model packs no FAST tokenizer. ActionsComplete is false when the
	// tokens did not decode to a full chunk (padded, truncated, or ids skipped).
	Actions         [][]float32
	ActionsComplete bool
	Generated       int // generated tokens (tokens per second = Generated / Loop)
	Timings         Timings
	// Early marks a JD3P result cut short by the context's deadline (anytime decoding): the tokens
	// are the sampled tokens of the last step run, not of a full T-step run. StepsRun is the
	// decoding steps run (AR: the tokens generated; independent diffusion: both loops).
	Early    bool
	StepsRun int
	// FutureFrames, when the request set DecodeFuture, holds per camera the future codes decoded
	// to a packed RGB8 frame at the camera's pixel grid. A position whose token is not a visual
	// code (-1 in FutureCodes) is decoded as code 0.
	FutureFrames []*frame.Frame
}

// TokensPerSecond is the generated tokens over the decoding loop's time.
func (r *Result) TokensPerSecond() float64 {
	if r.Timings.Loop <= 0 {
		return 0
	}
	return float64(r.Generated) / r.Timings.Loop.Seconds()
}

// ErrClosed is returned by calls on a closed engine.
var ErrClosed = errors.New("udvla: engine is closed")

// ErrNoLayout is returned for control steps on a model without a UD-VLA vocabulary layout.
var ErrNoLayout = errors.New("udvla: the model has no UD-VLA vocabulary layout (a plain Llama checkpoint): only logits are available")

// Engine runs control steps on one model. Its methods are safe for concurrent use; steps on one
// engine run one at a time.
type Engine struct {
	file *model.File
	cfg  *model.Config
	opts Options

	mu     sync.Mutex
	closed bool
	be     backend
	text   textTokenizer
	fast   actionDecoder
	// vision is the model's vision tokenizer on the backend, opened at the first request that
	// carries frames or asks for future frames.
	vision frameCodec
	// header tokenizes an image block's "1*H*W" size header: the text tokenizer when the model
	// packs one, else the layout's digit and '*' ids (the same tokens for the Qwen tokenizer, which
	// splits digits one per token).
	header func(h, w int) []int32
	// now is the clock of anytime decoding, read before step s (time.Now; tests inject a clock
	// that advances a fixed time per step).
	now func(s int) time.Time
}

// backend executes the model: the engine's only way into the Vulkan backend (package
// internal/vkbackend) and the CPU reference. What only some backends do is an optional
// interface: profiler, validator, device.
type backend interface {
	Decode(job *decode.Job) (*decode.Result, error)
	Logits(ids []int32, m *seq.Mask) ([]float32, error)
	Name() string
	Close()
}

// Open loads a model file and prepares the backend.
func Open(path string, opts Options) (*Engine, error) {
	f, err := model.Open(path)
	if err != nil {
		return nil, err
	}
	return OpenFile(f, opts)
}

// OpenFile prepares the backend on a model file already opened. The engine owns f from then on:
// Close closes it, and so does OpenFile when it fails.
func OpenFile(f *model.File, opts Options) (e *Engine, err error) {
	if !f.Config.HasLM() {
		f.Close()
		return nil, fmt.Errorf("udvla: the model file holds a vision tokenizer alone, no language model to run")
	}
	e = &Engine{file: f, cfg: &f.Config, opts: opts}
	if e.opts.MaxInstruction <= 0 {
		e.opts.MaxInstruction = 128
	}
	if err := e.loadTokenizers(); err != nil {
		f.Close()
		return nil, err
	}
	if limit := e.instructionLimit(); e.opts.MaxInstruction > limit {
		f.Close()
		return nil, &InstructionLimitError{Requested: e.opts.MaxInstruction, Limit: limit}
	}
	switch opts.Backend {
	case BackendReference:
		e.be, err = newRefBackend(f)
	case BackendVulkan:
		e.be, err = vkbackend.Open(f, vkbackend.Options{Device: e.opts.Device, Validate: e.opts.Validate,
			Kernels: e.opts.Kernels, MaxInstruction: e.opts.MaxInstruction, Header: e.header})
	default:
		err = fmt.Errorf("udvla: unknown backend %d", opts.Backend)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return e, nil
}

// Config returns the model's configuration.
func (e *Engine) Config() *model.Config { return e.cfg }

// BackendName names the backend and its device.
func (e *Engine) BackendName() string { return e.be.Name() }

// Close frees the device resources and unmaps the model. Later calls return ErrClosed.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	if e.vision != nil {
		e.vision.close()
	}
	e.be.Close()
	return e.file.Close()
}

// Step runs one control step. Cancelling ctx stops it between the segments its denoising loop is
// submitted in (a quarter of the steps each on the Vulkan backend) with an error wrapping ctx's.
func (e *Engine) Step(ctx context.Context, req *Request) (*Result, error) {
	if req == nil {
		return nil, errors.New("udvla: nil request")
	}
	start := time.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrClosed
	}
	r, err := e.stepLocked(ctx, req, start)
	if err != nil {
		return nil, err
	}
	return r.res, nil
}

// stepRun is what one control step decoded, with the job it ran.
type stepRun struct {
	job *decode.Job
	d   *decode.Result
	res *Result
}

// stepLocked is the body of Step and StepProfile, run with e.mu held: it resolves and lays out
// the request, decodes it and finishes the result.
func (e *Engine) stepLocked(ctx context.Context, req *Request, start time.Time) (*stepRun, error) {
	if e.cfg.Vocab == nil || e.cfg.Decoding == nil {
		return nil, ErrNoLayout
	}
	if err := startErr(ctx, req.Mode); err != nil {
		return nil, err
	}
	req, err := e.resolved(req)
	if err != nil {
		return nil, err
	}
	if err := e.checkFutureFrames(req); err != nil {
		return nil, err
	}
	encodeStart := time.Now()
	if req, err = e.tokenizeFrames(req); err != nil {
		return nil, err
	}
	var encode time.Duration
	if len(req.Frames) > 0 {
		encode = time.Since(encodeStart)
	}
	l, steps, err := e.layout(req)
	if err != nil {
		return nil, err
	}
	at := newAnytime(ctx, req.Mode, e.now)
	job := newJob(req, l, steps)
	job.Proceed = at.proceed(ctx)
	d, err := e.be.Decode(job)
	if err != nil {
		return nil, err
	}
	res := e.finish(l, d, req.Mode == ModeAR)
	res.Early = at != nil && at.stopped
	res.Timings.Encode = encode
	if req.DecodeFuture {
		decodeStart := time.Now()
		if res.FutureFrames, err = e.futureFrames(l, res.FutureCodes); err != nil {
			return nil, err
		}
		res.Timings.FutureDecode = time.Since(decodeStart)
	}
	res.Timings.Total = time.Since(start)
	return &stepRun{job: job, d: d, res: res}, nil
}

// newJob is what a backend decodes for a resolved request laid out as l, with T steps.
func newJob(req *Request, l *seq.Layout, steps int) *decode.Job {
	return &decode.Job{Layout: l, Mode: decodeModes[req.Mode], Rule: req.Mask, NoCache: req.NoCache,
		Seed: req.Seed, Steps: steps, ActionSteps: req.actionSteps()}
}

// Logits returns the logits [len(ids)][vocab] of a token sequence under a mask rule (causal,
// paper or release; model.MaskDefault takes the model's rule), for comparing backends and
// inspecting models.
func (e *Engine) Logits(ids []int32, rule model.MaskRule) ([]float32, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrClosed
	}
	if len(ids) == 0 {
		return nil, errors.New("udvla: no tokens")
	}
	for i, id := range ids {
		if id < 0 || int(id) >= e.cfg.Arch.Vocab {
			return nil, fmt.Errorf("udvla: token %d (index %d) outside the vocabulary [0, %d)", id, i, e.cfg.Arch.Vocab)
		}
	}
	rule = rule.Resolve(e.cfg.Decoding)
	if rule != model.MaskCausal && e.cfg.Vocab == nil {
		return nil, fmt.Errorf("udvla: the %v mask needs a vocabulary layout", rule)
	}
	cameras := 0
	if e.cfg.Decoding != nil {
		cameras = len(e.cfg.Decoding.Cameras)
	}
	m, err := seq.MaskForIDs(rule, ids, e.cfg.Vocab, cameras)
	if err != nil {
		return nil, err
	}
	return e.be.Logits(ids, m)
}
