package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/udvla/udvla/engine/fast"
	"github.com/udvla/udvla/engine/model"
)

func init() {
	register("fast-decode", "decode FAST action token ids (a JSON array on stdin) to an action chunk", runFastDecode)
}

// fastDecodeOutput is what fast-decode prints. Actions appear only when statistics are known.
type fastDecodeOutput struct {
	Coeffs            [][]int     `json:"coeffs"`
	ActionsNormalised [][]float64 `json:"actions_normalised"`
	Actions           [][]float32 `json:"actions,omitempty"`
	// Complete is false when the ids did not decode to exactly T*D values or some were skipped.
	Complete bool `json:"complete"`
	Values   int  `json:"values"`
	Skipped  int  `json:"skipped"`
}

func runFastDecode(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("fast-decode", stderr)
	dir := fs.String("tokenizer", "", "FAST tokenizer directory (tokenizer.json, processor_config.json)")
	horizon := fs.Int("horizon", 0, "T, action steps in a chunk (with --tokenizer; 0: from processor_config.json)")
	dims := fs.Int("dims", 0, "D, action dimensions (with --tokenizer; 0: from processor_config.json)")
	stats := fs.String("stats", "", "norm_stats.json whose first dataset's q01/q99 un-normalise the actions")
	modelPath := fs.String("model", "", "take the tokenizer, T, D, statistics and gripper threshold from a .udvla model instead")
	gripper := fs.Float64("gripper-threshold", 0, "with --tokenizer: the gripper (last) dimension is +1 above it, else -1 (CALVIN/LIBERO 0, Bridge 0.5)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: udvla fast-decode (--tokenizer DIR --horizon T --dims D | --model FILE) [--stats FILE] < ids.json")
		fmt.Fprintln(stderr, "Reads FAST BPE token ids (0..V-1, not model vocabulary ids) as a JSON array on stdin.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var (
		tok      *fast.Tokenizer
		q01, q99 []float64
		err      error
	)
	switch {
	case *modelPath != "" && (*dir != "" || *horizon != 0 || *dims != 0 || *gripper != 0):
		return errors.New("--model replaces --tokenizer, --horizon, --dims and --gripper-threshold: give one or the other")
	case *modelPath != "":
		tok, q01, q99, err = fastFromModel(*modelPath)
	case *dir != "":
		if tok, err = fast.LoadDir(*dir, *horizon, *dims); err == nil {
			tok.GripperThreshold = *gripper
		}
	default:
		return errors.New("give --tokenizer DIR (with --horizon and --dims) or --model FILE")
	}
	if err != nil {
		return err
	}
	if *stats != "" {
		if q01, q99, err = fast.LoadStats(*stats); err != nil {
			return err
		}
	}
	ids, err := readTokenIDs(stdin)
	if err != nil {
		return err
	}
	res, err := tok.Decode(ids, q01, q99)
	if err != nil {
		return err
	}
	out := fastDecodeOutput{Coeffs: res.Coeffs, ActionsNormalised: res.Normalised, Actions: res.Actions,
		Complete: res.Complete, Values: res.Values, Skipped: res.Skipped}
	enc := json.NewEncoder(stdout)
	return enc.Encode(out)
}

// fastFromModel reads the FAST tokenizer and statistics a model file packs.
func fastFromModel(path string) (*fast.Tokenizer, []float64, []float64, error) {
	f, err := model.Open(path)
	if err != nil {
		return nil, nil, nil, err
	}
	defer f.Close()
	fc := f.Config.Fast
	if fc == nil {
		return nil, nil, nil, fmt.Errorf("%s packs no FAST tokenizer", path)
	}
	tok, err := fast.FromModel(fc)
	if err != nil {
		return nil, nil, nil, err
	}
	if len(fc.Q01) == 0 {
		return tok, nil, nil, nil
	}
	return tok, fc.Q01, fc.Q99, nil
}

// readTokenIDs parses one JSON array of integers. Integers beyond int32 cannot be vocabulary ids;
// they become -1 so that the decoder skips and counts them like any other unknown id.
func readTokenIDs(r io.Reader) ([]int32, error) {
	if r == nil {
		return nil, errors.New("no token ids on stdin")
	}
	dec := json.NewDecoder(r)
	dec.UseNumber()
	var nums []json.Number
	if err := dec.Decode(&nums); err != nil {
		return nil, fmt.Errorf("stdin: want a JSON array of token ids: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("stdin: unexpected data after the array of token ids")
	}
	if nums == nil {
		return nil, errors.New("stdin: want a JSON array of token ids, got null")
	}
	ids := make([]int32, len(nums))
	for i, n := range nums {
		v, err := n.Int64()
		if err != nil {
			// 1e3 is an integer too; anything fractional is not an id at all.
			f, ferr := n.Float64()
			if ferr != nil && !errors.Is(ferr, strconv.ErrRange) || f != math.Trunc(f) {
				return nil, fmt.Errorf("stdin: token id %d (%s) is not an integer", i, n)
			}
			v = -1
			if math.Abs(f) <= math.MaxInt32 {
				v = int64(f)
			}
		}
		if v < math.MinInt32 || v > math.MaxInt32 {
			v = -1
		}
		ids[i] = int32(v)
	}
	return ids, nil
}
