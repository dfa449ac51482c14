// Command golden writes the expected results of control steps, computed by the Go engine, for the
// C, C++ and Python tests of libudvla to compare against: random requests (instruction, codes,
// seed, steps, mode, mask rule, prefix caching) and what engine.Step returns for each.
//
//	go run ./capi/golden -model testdata/tiny.udvla -seed 7 -cases 9 -out golden.txt
//
// The file is whitespace-separated text (floats as their IEEE-754 bits, so equality is exact):
//
//	udvla-golden 1
//	cases K
//	then per case:
//	case SEED STEPS MODE MASK NOCACHE
//	instruction N ids...
//	cameras C, then per camera: codes N codes...
//	region N ids...
//	future N codes...
//	tokens N ids...
//	flags EOA_FOUND ACTIONS_COMPLETE GENERATED
//	actions ROWS DIMS bits...
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"

	"github.com/udvla/udvla/engine"
	"github.com/udvla/udvla/engine/model"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "golden:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("golden", flag.ContinueOnError)
	path := fs.String("model", "testdata/tiny.udvla", "model file")
	out := fs.String("out", "", "output file (default: standard output)")
	seed := fs.Uint64("seed", 1, "seed of the random requests")
	cases := fs.Int("cases", 9, "number of requests")
	maxSteps := fs.Int("max-steps", 4, "denoising steps are drawn from [1, max-steps]")
	backend := fs.String("backend", "vulkan", "vulkan or reference")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cases < 1 || *maxSteps < 1 {
		return fmt.Errorf("-cases and -max-steps must be positive")
	}
	opts := engine.Options{}
	switch *backend {
	case "vulkan":
	case "reference":
		opts.Backend = engine.BackendReference
	default:
		return fmt.Errorf("unknown backend %q", *backend)
	}
	e, err := engine.Open(*path, opts)
	if err != nil {
		return err
	}
	defer e.Close()
	cfg := e.Config()
	if cfg.Vocab == nil {
		return fmt.Errorf("%s has no vocabulary layout", *path)
	}
	w := stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "udvla-golden 1\ncases %d\n", *cases)
	r := rand.New(rand.NewPCG(*seed, 0x9e3779b97f4a7c15))
	modes := engine.Modes
	for i := 0; i < *cases; i++ {
		req := randomRequest(cfg, r, *maxSteps)
		req.Mode = modes[i%len(modes)]
		req.Mask = []model.MaskRule{model.MaskDefault, model.MaskPaper}[i/len(modes)%2] // the zeroed request, and the opt-in mode
		res, err := e.Step(context.Background(), req)
		if err != nil {
			return fmt.Errorf("case %d: %w", i, err)
		}
		writeCase(bw, req, res)
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if f, ok := w.(*os.File); ok && f != os.Stdout {
		return f.Close()
	}
	return nil
}

// randomRequest draws an instruction of 0 to 12 text ids, codes over the whole codebook, a seed
// and a step count.
func randomRequest(cfg *model.Config, r *rand.Rand, maxSteps int) *engine.Request {
	req := &engine.Request{Seed: r.Uint64(), Steps: 1 + r.IntN(maxSteps), NoCache: r.IntN(3) == 0}
	n := r.IntN(13)
	for j := 0; j < n; j++ {
		req.Instruction = append(req.Instruction, r.Int32N(cfg.Vocab.TextSize))
	}
	for _, c := range cfg.Decoding.Cameras {
		codes := make([]int32, c.H*c.W)
		for j := range codes {
			codes[j] = r.Int32N(cfg.Vocab.CodebookSize)
		}
		req.Codes = append(req.Codes, codes)
	}
	return req
}

func writeCase(w io.Writer, req *engine.Request, res *engine.Result) {
	b := func(v bool) int {
		if v {
			return 1
		}
		return 0
	}
	fmt.Fprintf(w, "case %d %d %d %d %d\n", req.Seed, req.Steps, int(req.Mode), int(req.Mask), b(req.NoCache))
	writeInts(w, "instruction", req.Instruction)
	fmt.Fprintf(w, "cameras %d\n", len(req.Codes))
	for _, c := range req.Codes {
		writeInts(w, "codes", c)
	}
	writeInts(w, "region", res.Region)
	var future []int32
	for _, c := range res.FutureCodes {
		future = append(future, c...)
	}
	writeInts(w, "future", future)
	writeInts(w, "tokens", res.ActionTokens)
	fmt.Fprintf(w, "flags %d %d %d\n", b(res.EOAFound), b(res.ActionsComplete), res.Generated)
	dims := 0
	if len(res.Actions) > 0 {
		dims = len(res.Actions[0])
	}
	fmt.Fprintf(w, "actions %d %d", len(res.Actions), dims)
	for _, row := range res.Actions {
		for _, v := range row {
			fmt.Fprintf(w, " %d", math.Float32bits(v))
		}
	}
	fmt.Fprintln(w)
}

func writeInts(w io.Writer, key string, v []int32) {
	fmt.Fprintf(w, "%s %d", key, len(v))
	for _, x := range v {
		fmt.Fprintf(w, " %d", x)
	}
	fmt.Fprintln(w)
}
