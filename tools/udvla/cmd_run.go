package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/udvla/udvla/engine"
	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/ref"
)

func init() {
	register("run", "run control steps of a model: future-image codes, action tokens and the action chunk", runRun)
}

// runOutput is what `udvla run --json` prints (docs/run.schema.json, schema "udvla-run/1").
type runOutput struct {
	Schema          string          `json:"schema"`
	Model           string          `json:"model"`
	Backend         string          `json:"backend"`
	Request         runRequestOut   `json:"request"`
	Cameras         []runCameraOut  `json:"cameras"`
	FutureCodes     [][]int32       `json:"future_codes"`
	ActionTokens    []int32         `json:"action_tokens"`
	EOAFound        bool            `json:"eoa_found"`
	Actions         [][]float32     `json:"actions"`
	ActionsComplete bool            `json:"actions_complete"`
	Generated       int             `json:"generated"`
	IdenticalRuns   bool            `json:"identical_runs"`
	Runs            []runTimingsOut `json:"runs"`
	// Early marks outputs cut short by --budget-ms after StepsRun steps (anytime JD3P).
	Early    bool `json:"early"`
	StepsRun int  `json:"steps_run"`
	// Kernels names the kernel variant of each op family that ran ("" for the CPU reference).
	Kernels string `json:"kernels"`
}

type runRequestOut struct {
	Mode        string  `json:"mode"`
	Mask        string  `json:"mask"`
	Steps       int     `json:"steps"`
	Seed        uint64  `json:"seed"`
	Cache       bool    `json:"cache"`
	Instruction []int32 `json:"instruction"`
	Codes       string  `json:"codes"`                  // "random" or the file they were read from
	ActionSteps int     `json:"action_steps,omitempty"` // independent diffusion's action loop
	BudgetMS    float64 `json:"budget_ms,omitempty"`    // the time budget of each run
}

type runCameraOut struct {
	Name string `json:"name"`
	H    int    `json:"h"`
	W    int    `json:"w"`
}

type runTimingsOut struct {
	TotalMS         float64   `json:"total_ms"`
	CompileMS       float64   `json:"compile_ms"`
	PrefillMS       float64   `json:"prefill_ms"`
	LoopMS          float64   `json:"loop_ms"`
	GPUMS           float64   `json:"gpu_ms"`
	StepMS          []float64 `json:"step_ms"`
	HostMSPerStep   float64   `json:"host_ms_per_step"`
	TokensPerSecond float64   `json:"tokens_per_second"`
	StepsRun        int       `json:"steps_run"`
	Early           bool      `json:"early"`
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// engineFlags are the flags that open an engine, shared by run and logits.
type engineFlags struct {
	model, device, backend *string
	validate               *bool
	kernels                *string
}

func addEngineFlags(fs *flag.FlagSet) engineFlags {
	return engineFlags{
		model:    fs.String("model", "", "model file (.udvla), e.g. testdata/tiny.udvla (required)"),
		device:   fs.String("device", "", "Vulkan device index or name substring (default: $UDVLA_DEVICE, else the best)"),
		backend:  fs.String("backend", "vulkan", "vulkan (the engine) or reference (the CPU specification, slow)"),
		validate: fs.Bool("validate", false, "enable the Khronos validation layer (Vulkan backend)"),
		kernels: fs.String("kernels", "", "kernel variants as family=variant,... over the device's table choice "+
			"(default: $UDVLA_KERNELS; `udvla-bench devices` lists each device's)"),
	}
}

func (f engineFlags) open() (*engine.Engine, error) {
	if *f.model == "" {
		return nil, errors.New("give the model file with --model FILE (the repository ships testdata/tiny.udvla)")
	}
	o := engine.Options{Device: *f.device, Validate: *f.validate, Kernels: *f.kernels}
	switch *f.backend {
	case "vulkan":
	case "reference":
		if *f.device != "" || *f.validate || *f.kernels != "" {
			return nil, errors.New("--device, --validate and --kernels choose a Vulkan device and its kernels: drop them with --backend reference")
		}
		o.Backend = engine.BackendReference
	default:
		return nil, fmt.Errorf("unknown --backend %q: want vulkan or reference", *f.backend)
	}
	return engine.Open(*f.model, o)
}

// parseTokens reads comma-separated token ids.
func parseTokens(s string) ([]int32, error) {
	var out []int32
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		v, err := strconv.ParseInt(f, 10, 32)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("token %q is not a non-negative integer (want ids like 1,2,3)", f)
		}
		out = append(out, int32(v))
	}
	if len(out) == 0 {
		return nil, errors.New("no token ids (want ids like 1,2,3)")
	}
	return out, nil
}

// readCodes reads a codes file: a JSON array with one array of H*W codes per camera.
func readCodes(path string, cfg *model.Config) ([][]int32, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var codes [][]int32
	if err := json.Unmarshal(b, &codes); err != nil {
		return nil, fmt.Errorf("%s: want a JSON array with one array of H*W codes per camera: %w", path, err)
	}
	cams := cfg.Decoding.Cameras
	if len(codes) != len(cams) {
		return nil, fmt.Errorf("%s: %d code arrays for the model's %d cameras (%s)", path, len(codes), len(cams), model.FormatCameras(cams))
	}
	for i, c := range cams {
		if len(codes[i]) != c.H*c.W {
			return nil, fmt.Errorf("%s: camera %s (%dx%d) takes %d codes, the file has %d", path, c.Name, c.H, c.W, c.H*c.W, len(codes[i]))
		}
		for j, v := range codes[i] {
			if v < 0 || v >= cfg.Vocab.CodebookSize {
				return nil, fmt.Errorf("%s: camera %s code %d is %d, outside the codebook [0, %d)", path, c.Name, j, v, cfg.Vocab.CodebookSize)
			}
		}
	}
	return codes, nil
}

// randomCodes draws codes of the model's camera grids from a seed.
func randomCodes(cfg *model.Config, seed uint64) [][]int32 {
	r := rand.New(rand.NewPCG(seed, 0x636f646573)) // "codes": a stream apart from the decoding's
	var out [][]int32
	for _, c := range cfg.Decoding.Cameras {
		codes := make([]int32, c.H*c.W)
		for i := range codes {
			codes[i] = r.Int32N(cfg.Vocab.CodebookSize)
		}
		out = append(out, codes)
	}
	return out
}

func runRun(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", stderr)
	ef := addEngineFlags(fs)
	seed := fs.Uint64("seed", 1, "seed of the decoding (and of the random codes without --codes)")
	steps := fs.Int("steps", 0, "denoising steps T (0: the model's default; id: its image loop, 0 taking the release's 64)")
	modeS := fs.String("mode", "jd3p", "decoding: jd3p; id (independent diffusion as the release runs it); ar (the release's AR baseline "+
		"for an AR checkpoint: unconstrained greedy, nothing pre-filled); ar-restricted (greedy AR on a JD3P checkpoint over each position's decoding space)")
	actionSteps := fs.Int("action-steps", 0, "independent diffusion's action loop steps (0: the release's 28)")
	budgetMS := fs.Float64("budget-ms", 0, "time budget of each control step in milliseconds (jd3p stops early with the last step's tokens; "+
		"other modes fail past it); 0: none")
	maskS := fs.String("mask", "model", "attention mask rule: model (the model file's: release for the released checkpoints), release, "+
		"paper (opt-in speed mode: its outputs differ from what the weights were trained for) or release-kv (the release's KV-cached variant, opt-in, outputs differ from release)")
	noCache := fs.Bool("no-cache", false, "recompute the prefix at every step instead of caching the keys and values of the part that sees nothing after it (same result)")
	instruction := fs.String("instruction", "", "instruction text (models that pack a text vocabulary)")
	tokensS := fs.String("tokens", "", "instruction as comma-separated text token ids, e.g. 40,50,60")
	codesPath := fs.String("codes", "", "JSON file with one array of H*W visual codes per camera (default: random codes from --seed)")
	runs := fs.Int("runs", 1, "control steps to run (same request; the output is the first, timings are per run)")
	asJSON := fs.Bool("json", false, "print a JSON object (docs/run.schema.json)")
	var images imageFlags
	fs.Var(&images, "image", "NAME=FILE: a camera frame (PNG or JPEG, any size) that the model's vision tokenizer turns into the camera's codes; "+
		"repeat per camera (cameras without one take random codes from --seed)")
	saveFuture := fs.String("save-future", "", "directory to write the future frames to, one PNG per camera (NAME.png), decoded by the model's vision tokenizer")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: udvla run --model FILE (--tokens IDS | --instruction TEXT) [flags]")
		fmt.Fprintln(stderr, "Runs control steps and prints the future-image codes, the action tokens, the action chunk and timings.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("unexpected arguments %q (flags come as --name value)", fs.Args())
	}
	mode, err := engine.ParseMode(*modeS)
	if err != nil {
		return err
	}
	if *runs < 1 {
		return fmt.Errorf("--runs %d: want at least 1", *runs)
	}
	if *steps < 0 {
		return fmt.Errorf("--steps %d: want a positive number (0 takes the model's default)", *steps)
	}
	if *actionSteps < 0 {
		return fmt.Errorf("--action-steps %d: want a positive number (0 takes the release's 28)", *actionSteps)
	}
	if !(*budgetMS >= 0) || *budgetMS > 1e9 {
		return fmt.Errorf("--budget-ms %v: want milliseconds, 0 for none", *budgetMS)
	}
	if (*instruction == "") == (*tokensS == "") {
		return errors.New("give the instruction once: --tokens IDS (text token ids, e.g. 40,50,60) or --instruction TEXT (models that pack a text vocabulary)")
	}
	req := &engine.Request{Seed: *seed, Steps: *steps, Mode: mode, NoCache: *noCache, InstructionText: *instruction, ActionSteps: *actionSteps}
	if *tokensS != "" {
		if req.Instruction, err = parseTokens(*tokensS); err != nil {
			return fmt.Errorf("--tokens: %w", err)
		}
	}
	e, err := ef.open()
	if err != nil {
		return err
	}
	defer e.Close()
	cfg := e.Config()
	if cfg.Vocab == nil || cfg.Decoding == nil {
		return fmt.Errorf("%s has no UD-VLA vocabulary layout (a plain Llama checkpoint): use `udvla logits` on it", *ef.model)
	}
	if *instruction != "" && len(cfg.TextBPE) == 0 {
		return fmt.Errorf("%s packs no text vocabulary: give the instruction as --tokens IDS", *ef.model)
	}
	if *instruction != "" { // tokenized here so that the output can show the ids the text became
		if req.Instruction, err = e.EncodeInstruction(*instruction); err != nil {
			return err
		}
	}
	if req.Mask, err = model.ParseMaskRule(*maskS); err != nil {
		return err
	}
	if req.Mask == model.MaskCausal {
		return errors.New("--mask causal cannot decode a control step: want model, release, paper or release-kv")
	}
	rule := req.Mask.Resolve(cfg.Decoding) // what the output reports
	if mode == engine.ModeAR || mode == engine.ModeARRestricted {
		rule = model.MaskCausal
	}
	codesFrom := "random"
	if len(images) > 0 && *codesPath != "" {
		return errors.New("give the cameras' input once: --codes FILE or --image NAME=FILE")
	}
	req.DecodeFuture = *saveFuture != ""
	if len(images) > 0 {
		if codesFrom, err = framesAndCodes(req, images, cfg, *seed); err != nil {
			return err
		}
	} else if *codesPath != "" {
		if req.Codes, err = readCodes(*codesPath, cfg); err != nil {
			return err
		}
		codesFrom = *codesPath
	} else {
		req.Codes = randomCodes(cfg, *seed)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var first *engine.Result
	out := runOutput{Schema: "udvla-run/1", Model: *ef.model, Backend: e.BackendName(), IdenticalRuns: true}
	if k, ok := e.Kernels(); ok {
		out.Kernels = k.String()
	}
	for i := 0; i < *runs; i++ {
		res, err := step(ctx, e, req, *budgetMS)
		if err != nil {
			return err
		}
		if first == nil {
			first = res
		} else if !reflect.DeepEqual(res.Region, first.Region) {
			out.IdenticalRuns = false
		}
		out.Runs = append(out.Runs, runTimings(res))
	}
	effSteps, effAction := *steps, 0
	if mode == engine.ModeID {
		effAction = *actionSteps
		if effAction == 0 {
			effAction = ref.IDActionSteps
		}
	}
	if effSteps == 0 {
		effSteps = cfg.Decoding.Steps
		if mode == engine.ModeID {
			effSteps = ref.IDImageSteps
		}
	}
	instr := nonNilIDs(req.Instruction)
	out.Request = runRequestOut{Mode: mode.String(), Mask: rule.String(), Steps: effSteps, Seed: *seed,
		Cache: engine.PrefixCaching(mode, rule, *noCache) != "none", Instruction: instr, Codes: codesFrom,
		ActionSteps: effAction, BudgetMS: *budgetMS}
	out.Early, out.StepsRun = first.Early, first.StepsRun
	for _, c := range cfg.Decoding.Cameras {
		out.Cameras = append(out.Cameras, runCameraOut{c.Name, c.H, c.W})
	}
	out.FutureCodes, out.ActionTokens, out.EOAFound = first.FutureCodes, first.ActionTokens, first.EOAFound
	out.Actions, out.ActionsComplete, out.Generated = first.Actions, first.ActionsComplete, first.Generated
	out.ActionTokens = nonNilIDs(out.ActionTokens)
	var saved []string
	if *saveFuture != "" {
		if saved, err = saveFutureFrames(*saveFuture, first, cfg.Decoding.Cameras); err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	printRun(stdout, &out, cfg)
	printFrameTimings(stdout, first.Timings)
	for _, p := range saved {
		fmt.Fprintf(stdout, "future   wrote %s\n", p)
	}
	return nil
}

// step runs one control step, within budgetMS milliseconds when it is set.
func step(ctx context.Context, e *engine.Engine, req *engine.Request, budgetMS float64) (*engine.Result, error) {
	if budgetMS > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(budgetMS*float64(time.Millisecond)))
		defer cancel()
	}
	return e.Step(ctx, req)
}

func runTimings(r *engine.Result) runTimingsOut {
	t := runTimingsOut{TotalMS: ms(r.Timings.Total), CompileMS: ms(r.Timings.Compile), PrefillMS: ms(r.Timings.Prefill), LoopMS: ms(r.Timings.Loop),
		GPUMS: ms(r.Timings.GPU), TokensPerSecond: r.TokensPerSecond(), StepMS: []float64{}, StepsRun: r.StepsRun, Early: r.Early}
	var wall time.Duration
	for _, s := range r.Timings.Steps {
		t.StepMS = append(t.StepMS, ms(s))
		wall += s
	}
	if n := len(r.Timings.Steps); n > 0 && r.Timings.GPU > 0 {
		t.HostMSPerStep = ms(wall-r.Timings.GPU) / float64(n)
	}
	return t
}

func printRun(w io.Writer, o *runOutput, cfg *model.Config) {
	a := cfg.Arch
	q := o.Request
	fmt.Fprintf(w, "model    %s: %d layers, hidden %d, vocab %d\n", o.Model, a.Layers, a.Hidden, a.Vocab)
	fmt.Fprintf(w, "backend  %s\n", o.Backend)
	if o.Kernels != "" {
		fmt.Fprintf(w, "kernels  %s\n", o.Kernels)
	}
	cache := cacheText(q.Cache, q.Mode, q.Mask)
	steps := fmt.Sprintf("T=%d", q.Steps)
	if q.ActionSteps > 0 {
		steps = fmt.Sprintf("%d image + %d action steps", q.Steps, q.ActionSteps)
	}
	fmt.Fprintf(w, "request  %s, %s mask, %s, seed %d, %s, instruction of %d tokens, %s codes\n",
		q.Mode, q.Mask, steps, q.Seed, cache, len(q.Instruction), q.Codes)
	if q.BudgetMS > 0 {
		fmt.Fprintf(w, "budget   %g ms per step\n", q.BudgetMS)
	}
	if o.Early {
		fmt.Fprintf(w, "EARLY    the budget stopped decoding after %d of %d steps: the outputs are that step's sampled tokens\n", o.StepsRun, q.Steps)
	}
	fmt.Fprintln(w, "future image codes:")
	for i, c := range o.Cameras {
		codes := o.FutureCodes[i]
		visual, distinct := 0, map[int32]bool{}
		for _, v := range codes {
			if v >= 0 {
				visual++
				distinct[v] = true
			}
		}
		row := codes[:min(c.W, 16, len(codes))]
		more := ""
		if c.W > len(row) {
			more = " ..."
		}
		fmt.Fprintf(w, "  %-8s %dx%d: %d/%d visual, %d distinct; row 0: %v%s\n", c.Name, c.H, c.W, visual, len(codes), len(distinct),
			strings.Trim(fmt.Sprint(row), "[]"), more)
	}
	eoa := "no EOA: the action region ran to its end"
	if o.EOAFound {
		eoa = "EOA found"
	}
	fmt.Fprintf(w, "action tokens (%d, %s): %v\n", len(o.ActionTokens), eoa, o.ActionTokens)
	switch {
	case o.Actions == nil:
		fmt.Fprintln(w, "actions  none: the model packs no FAST tokenizer")
	default:
		complete := "complete"
		if !o.ActionsComplete {
			complete = "INCOMPLETE: the tokens did not decode to a full chunk (padded or truncated)"
		}
		dims := 0
		if len(o.Actions) > 0 {
			dims = len(o.Actions[0])
		}
		fmt.Fprintf(w, "actions  %dx%d, %s:\n", len(o.Actions), dims, complete)
		for t, row := range o.Actions {
			fmt.Fprintf(w, "  t%-3d", t)
			for _, v := range row {
				fmt.Fprintf(w, " %9.4f", v)
			}
			fmt.Fprintln(w)
		}
	}
	if len(o.Runs) > 1 {
		for i, r := range o.Runs {
			early := ""
			if r.Early {
				early = fmt.Sprintf(", EARLY after %d steps", r.StepsRun)
			}
			fmt.Fprintf(w, "run %-3d  total %8.2f ms, compile %7.2f ms, prefill %7.2f ms, loop %8.2f ms, GPU %8.2f ms, %8.1f tokens/s%s\n",
				i+1, r.TotalMS, r.CompileMS, r.PrefillMS, r.LoopMS, r.GPUMS, r.TokensPerSecond, early)
		}
		same := "identical outputs on every run"
		if !o.IdenticalRuns {
			same = "OUTPUTS DIFFER between runs of the same request"
		}
		fmt.Fprintln(w, same)
	}
	r := medianRun(o.Runs)
	label := "timings "
	if len(o.Runs) > 1 {
		label = "median  "
	}
	fmt.Fprintf(w, "%s total %.2f ms, prefill %.2f ms, loop %.2f ms", label, r.TotalMS, r.PrefillMS, r.LoopMS)
	if len(r.StepMS) > 0 {
		fmt.Fprintf(w, " over %d passes", len(r.StepMS))
	}
	if r.GPUMS > 0 {
		fmt.Fprintf(w, ", GPU %.2f ms, host %.3f ms per pass", r.GPUMS, r.HostMSPerStep)
	}
	fmt.Fprintln(w)
	if c := o.Runs[0].CompileMS; c > 0 {
		fmt.Fprintf(w, "compile  %.2f ms in run 1: first use of this request shape (recording, and the driver compiling pipelines in a warm-up run)\n", c)
	}
	fmt.Fprintf(w, "speed    %d tokens generated, %.1f tokens/s\n", o.Generated, r.TokensPerSecond)
}

// medianRun is the run of median total time.
func medianRun(runs []runTimingsOut) runTimingsOut {
	s := append([]runTimingsOut(nil), runs...)
	sort.Slice(s, func(i, j int) bool { return s[i].TotalMS < s[j].TotalMS })
	return s[len(s)/2]
}

// cacheText says what a run kept in the K/V cache across its passes.
func cacheText(cached bool, mode, mask string) string {
	switch {
	case !cached:
		return "prefix recomputed each step"
	case mode != engine.ModeAR.String() && mask == model.MaskRelease.String():
		return "text prefix cached (exact)"
	}
	return "cached prefix"
}

// nonNilIDs returns v, or an empty slice for nil, which JSON prints as [] rather than null.
func nonNilIDs(v []int32) []int32 {
	if v == nil {
		return []int32{}
	}
	return v
}
