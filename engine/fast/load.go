package fast

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/udvla/udvla/engine/model"
)

// processorConfig is the FAST processor's processor_config.json; time_horizon and action_dim
// are null in the released tokenizers (the caller supplies them).
type processorConfig struct {
	Scale       *float64 `json:"scale"`
	MinToken    *float64 `json:"min_token"`
	VocabSize   *int     `json:"vocab_size"`
	TimeHorizon *int     `json:"time_horizon"`
	ActionDim   *int     `json:"action_dim"`
}

// LoadDir loads a FAST tokenizer directory: tokenizer.json, processor_config.json (scale,
// min_token, and T and D when set) and, when present, tokenizer_config.json
// (clean_up_tokenization_spaces). horizon and dims override the processor's values; 0 takes
// them from it, and it is an error if it has none.
func LoadDir(dir string, horizon, dims int) (*Tokenizer, error) {
	tokJSON, err := os.ReadFile(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		return nil, fmt.Errorf("fast: %w", err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "processor_config.json"))
	if err != nil {
		return nil, fmt.Errorf("fast: %w", err)
	}
	var pc processorConfig
	if err := json.Unmarshal(raw, &pc); err != nil {
		return nil, fmt.Errorf("fast: processor_config.json: %w", err)
	}
	if pc.Scale == nil || pc.MinToken == nil {
		return nil, errors.New("fast: processor_config.json lacks scale or min_token")
	}
	mt := *pc.MinToken
	if mt != math.Trunc(mt) || math.Abs(mt) > 1<<30 {
		return nil, fmt.Errorf("fast: processor_config.json min_token %g is not a small integer", mt)
	}
	if horizon == 0 && pc.TimeHorizon != nil {
		horizon = *pc.TimeHorizon
	}
	if dims == 0 && pc.ActionDim != nil {
		dims = *pc.ActionDim
	}
	if horizon <= 0 || dims <= 0 {
		return nil, fmt.Errorf("fast: %s: the action shape is not set (time_horizon and action_dim are null): give T and D", dir)
	}
	t, err := New(tokJSON, *pc.Scale, int32(mt), horizon, dims)
	if err != nil {
		return nil, err
	}
	cfg, err := os.ReadFile(filepath.Join(dir, "tokenizer_config.json"))
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("fast: %w", err)
	default:
		var tc struct {
			CleanUp *bool `json:"clean_up_tokenization_spaces"`
		}
		if err := json.Unmarshal(cfg, &tc); err != nil {
			return nil, fmt.Errorf("fast: tokenizer_config.json: %w", err)
		}
		// Unset means transformers' default, which is true for the versions FAST was released
		// with; every released FAST directory sets it explicitly.
		t.CleanUpSpaces = tc.CleanUp == nil || *tc.CleanUp
	}
	return t, nil
}

// FromModel builds the tokenizer a model file packs. Its statistics are f.Q01 and f.Q99.
func FromModel(f *model.Fast) (*Tokenizer, error) {
	if f == nil {
		return nil, errors.New("fast: the model packs no FAST tokenizer")
	}
	t, err := New(f.TokenizerJSON, f.Scale, f.MinToken, f.Horizon, f.Dims)
	if err != nil {
		return nil, err
	}
	t.CleanUpSpaces, t.GripperThreshold = f.CleanUpSpaces, f.GripperThreshold
	return t, nil
}

// LoadStats reads the q01 and q99 of the first dataset of a norm_stats.json
// ({"norm_stats": {name: {"q01": [...], "q99": [...], ...}, ...}}), first in file order.
func LoadStats(path string) (q01, q99 []float64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("fast: %w", err)
	}
	defer f.Close()
	q01, q99, err = ReadStats(f)
	if err != nil {
		return nil, nil, fmt.Errorf("fast: %s: %w", path, err)
	}
	return q01, q99, nil
}

// ReadStats is LoadStats on a reader. It walks the JSON tokens rather than decoding into a map,
// because a Go map forgets which dataset came first.
func ReadStats(r io.Reader) (q01, q99 []float64, err error) {
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return nil, nil, err
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		if key != "norm_stats" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, nil, err
			}
			continue
		}
		if err := expectDelim(dec, '{'); err != nil {
			return nil, nil, err
		}
		if !dec.More() {
			return nil, nil, errors.New("norm_stats holds no dataset")
		}
		name, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		var st struct {
			Q01 []float64 `json:"q01"`
			Q99 []float64 `json:"q99"`
		}
		if err := dec.Decode(&st); err != nil {
			return nil, nil, fmt.Errorf("dataset %v: %w", name, err)
		}
		switch {
		case len(st.Q01) == 0 || len(st.Q99) == 0:
			return nil, nil, fmt.Errorf("dataset %v lacks q01 or q99", name)
		case len(st.Q01) != len(st.Q99):
			return nil, nil, fmt.Errorf("dataset %v: %d q01 values but %d q99", name, len(st.Q01), len(st.Q99))
		}
		return st.Q01, st.Q99, nil
	}
	return nil, nil, errors.New("no norm_stats object")
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("expected %q, found %v", want, tok)
	}
	return nil
}
