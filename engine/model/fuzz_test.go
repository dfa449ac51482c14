package model_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/model/internal/modeltest"
)

// FuzzOpen feeds arbitrary bytes to the loader: it must return an error or a File whose tensors
// every backend can read (checkBackendReads), never panic, and the verifier must leave no panic
// for readHeader's recover. Each input is tried as is and with its header checksum fixed, so mutations get past the checksum.
// The seed corpus in testdata/fuzz/FuzzOpen runs with every `go test`; tools/generate.sh rewrites its
// seed files (UDVLA_WRITE_FUZZ_SEEDS=1 go test -run TestFuzzSeedCorpus ./engine/model).
//
//	go test -fuzz FuzzOpen -fuzztime 60s ./engine/model
func FuzzOpen(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	vcfg, vdir, vdata := vqModelParts(f) // a vision tokenizer alone (too large for the corpus files)
	f.Add(modeltest.EncodeModel(f, vcfg, vdir, vdata, -1))
	f.Fuzz(func(t *testing.T, data []byte) {
		before, beforeParse := model.AccessorPanics.Load(), model.ParsePanics.Load()
		for _, b := range [][]byte{data, modeltest.FixHeaderCRC(data)} {
			if b == nil {
				continue
			}
			file, err := model.Parse(b)
			if err != nil {
				continue
			}
			_ = file.Verify()
			checkBackendReads(t, file)
		}
		if model.AccessorPanics.Load() != before || model.ParsePanics.Load() != beforeParse {
			t.Fatal("a panic was caught while parsing: the verifier let a malformed header through")
		}
	})
}

// fuzzSeeds are small files: valid ones with and without a layout, a truncated one and one with a
// mutated header whose checksum is fixed.
func fuzzSeeds(t testing.TB) [][]byte {
	_, _, _, withLayout := baseModel(t)
	cfg, dir, data := modeltest.RandomModelParts(t, modeltest.TinyArchOptions(false))
	plain := modeltest.EncodeModel(t, cfg, dir, data, -1)
	mutated := append([]byte(nil), withLayout...)
	mutated[100] ^= 0x10
	return [][]byte{withLayout, plain, withLayout[:len(withLayout)/2], modeltest.FixHeaderCRC(mutated)}
}

// The seed files are what fuzzSeeds makes from today's writer (tools/generate.sh rewrites them with
// UDVLA_WRITE_FUZZ_SEEDS=1), so that the fuzzer starts from files the current format accepts.
func TestFuzzSeedCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzOpen")
	write := os.Getenv("UDVLA_WRITE_FUZZ_SEEDS") == "1"
	if write {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for i, s := range fuzzSeeds(t) {
		path := filepath.Join(dir, fmt.Sprintf("seed%d", i))
		body := []byte(fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s))
		if write {
			if err := os.WriteFile(path, body, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if have, err := os.ReadFile(path); err != nil || !bytes.Equal(have, body) {
			t.Errorf("%s is not what fuzzSeeds makes (%v): run tools/generate.sh", path, err)
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) < 4 {
		t.Fatalf("the seed corpus %s has %d files (%v)", dir, len(ents), err)
	}
}
