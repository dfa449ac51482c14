package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/udvla/udvla/engine/model"
)

func init() {
	register("logits", "the logits of a token sequence under a mask rule (JSON, or raw float32 with --out)", runLogits)
}

// logitsOutput is what `udvla logits` prints without --out.
type logitsOutput struct {
	Model   string      `json:"model"`
	Backend string      `json:"backend"`
	Mask    string      `json:"mask"`
	Tokens  []int32     `json:"tokens"`
	Vocab   int         `json:"vocab"`
	Logits  [][]float32 `json:"logits"` // [len(tokens)][vocab]; row i predicts token i+1
}

func runLogits(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("logits", stderr)
	ef := addEngineFlags(fs)
	tokensS := fs.String("tokens", "", "comma-separated token ids, e.g. 1,2,3 (required)")
	maskS := fs.String("mask", "causal", "attention mask rule: causal, paper or release (paper and release need a UD-VLA layout)")
	out := fs.String("out", "", "write raw little-endian float32 [n_tokens, vocab] to this file instead of JSON")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: udvla logits --model FILE --tokens IDS [--mask causal|paper|release] [--out FILE.f32] [--device SEL | --backend reference]")
		fmt.Fprintln(stderr, "Prints the logits of every position of a token sequence.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("unexpected arguments %q (flags come as --name value)", fs.Args())
	}
	if *tokensS == "" {
		return errors.New("give the sequence with --tokens IDS (comma-separated token ids, e.g. 1,2,3)")
	}
	ids, err := parseTokens(*tokensS)
	if err != nil {
		return fmt.Errorf("--tokens: %w", err)
	}
	rule, err := model.ParseMaskRule(*maskS)
	if err != nil {
		return err
	}
	e, err := ef.open()
	if err != nil {
		return err
	}
	defer e.Close()
	logits, err := e.Logits(ids, rule)
	if err != nil {
		return err
	}
	vocab := e.Config().Arch.Vocab
	if *out != "" {
		if err := writeF32(*out, logits); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s: float32 little-endian [%d, %d] (%s, %s mask)\n", *out, len(ids), vocab, e.BackendName(), rule)
		return nil
	}
	o := logitsOutput{Model: *ef.model, Backend: e.BackendName(), Mask: rule.String(), Tokens: ids, Vocab: vocab}
	for i := range ids {
		row := logits[i*vocab : (i+1)*vocab]
		for _, v := range row {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("position %d has a non-finite logit (%v): JSON cannot carry it, use --out", i, v)
			}
		}
		o.Logits = append(o.Logits, row)
	}
	return json.NewEncoder(stdout).Encode(o)
}

// writeF32 writes float32s little-endian.
func writeF32(path string, v []float32) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	if err := binary.Write(w, binary.LittleEndian, v); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
