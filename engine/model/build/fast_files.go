package build

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/udvla/udvla/engine/model"
)

// LoadFastTokenizer reads a FAST tokenizer directory (tokenizer.json and processor_config.json, as
// the HF "UniversalActionProcessor" saves them). The returned Fast has the tokenizer, scale and
// min_token; the caller sets Horizon, Dims and the quantile statistics. vocabSize is the
// processor's vocab_size, the number of FAST ids the model's vocabulary reserves.
func LoadFastTokenizer(dir string) (f *model.Fast, vocabSize int32, err error) {
	tok, err := os.ReadFile(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		return nil, 0, fmt.Errorf("fast tokenizer: %w", err)
	}
	if !json.Valid(tok) {
		return nil, 0, fmt.Errorf("fast tokenizer: %s is not valid JSON", filepath.Join(dir, "tokenizer.json"))
	}
	raw, err := os.ReadFile(filepath.Join(dir, "processor_config.json"))
	if err != nil {
		return nil, 0, fmt.Errorf("fast tokenizer: %w", err)
	}
	var pc struct {
		Scale     *float64 `json:"scale"`
		MinToken  *int32   `json:"min_token"`
		VocabSize *int32   `json:"vocab_size"`
	}
	if err := json.Unmarshal(raw, &pc); err != nil {
		return nil, 0, fmt.Errorf("fast tokenizer: processor_config.json: %w", err)
	}
	if pc.Scale == nil || pc.MinToken == nil || pc.VocabSize == nil {
		return nil, 0, fmt.Errorf("fast tokenizer: processor_config.json lacks scale, min_token or vocab_size")
	}
	if !(*pc.Scale > 0) || math.IsInf(*pc.Scale, 0) || *pc.VocabSize <= 0 {
		return nil, 0, fmt.Errorf("fast tokenizer: scale %g and vocab_size %d must be positive", *pc.Scale, *pc.VocabSize)
	}
	f = &model.Fast{TokenizerJSON: tok, Scale: *pc.Scale, MinToken: *pc.MinToken}
	if raw, err := os.ReadFile(filepath.Join(dir, "tokenizer_config.json")); err == nil {
		var tc struct {
			CleanUp *bool `json:"clean_up_tokenization_spaces"`
		}
		if err := json.Unmarshal(raw, &tc); err != nil {
			return nil, 0, fmt.Errorf("fast tokenizer: tokenizer_config.json: %w", err)
		}
		f.CleanUpSpaces = tc.CleanUp != nil && *tc.CleanUp
	} else if !os.IsNotExist(err) {
		return nil, 0, fmt.Errorf("fast tokenizer: %w", err)
	}
	return f, *pc.VocabSize, nil
}

// LoadNormStats reads the q01 and q99 action statistics of one dataset from a norm-stats file
// ({"norm_stats": {"<dataset>": {"q01": [...], "q99": [...], ...}}}). An empty dataset name takes
// the first entry of the file.
func LoadNormStats(path, dataset string) (q01, q99 []float64, name string, err error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, "", fmt.Errorf("norm stats: %w", err)
	}
	var top struct {
		NormStats json.RawMessage `json:"norm_stats"`
	}
	if err := json.Unmarshal(raw, &top); err != nil || top.NormStats == nil {
		return nil, nil, "", fmt.Errorf("norm stats: %s has no norm_stats object (%v)", path, err)
	}
	// Walk the object in file order: a Go map would lose which dataset comes first.
	dec := json.NewDecoder(bytes.NewReader(top.NormStats))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, nil, "", fmt.Errorf("norm stats: norm_stats of %s is not an object", path)
	}
	var names []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, nil, "", fmt.Errorf("norm stats: %w", err)
		}
		key, _ := t.(string)
		var st struct {
			Q01 []float64 `json:"q01"`
			Q99 []float64 `json:"q99"`
		}
		if err := dec.Decode(&st); err != nil {
			return nil, nil, "", fmt.Errorf("norm stats: dataset %q: %w", key, err)
		}
		if dataset == "" || dataset == key {
			if len(st.Q01) == 0 || len(st.Q01) != len(st.Q99) {
				return nil, nil, "", fmt.Errorf("norm stats: dataset %q has %d q01 and %d q99 values", key, len(st.Q01), len(st.Q99))
			}
			return st.Q01, st.Q99, key, nil
		}
		names = append(names, key)
	}
	return nil, nil, "", fmt.Errorf("norm stats: %s has no dataset %q (it has %v)", path, dataset, names)
}
