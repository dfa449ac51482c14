package engine

import (
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/model/build"
)

// byteVocab is a tiktoken vocabulary of the 256 single bytes in the GPT-2 byte order that the Qwen
// vocabulary starts with, so '*' is rank 9 and '0'..'9' are ranks 15..24 as in the real one.
func byteVocab() []byte {
	var order []int
	for b := 33; b <= 126; b++ {
		order = append(order, b)
	}
	for b := 161; b <= 172; b++ {
		order = append(order, b)
	}
	for b := 174; b <= 255; b++ {
		order = append(order, b)
	}
	seen := map[int]bool{}
	for _, b := range order {
		seen[b] = true
	}
	for b := 0; b < 256; b++ {
		if !seen[b] {
			order = append(order, b)
		}
	}
	var sb strings.Builder
	for rank, b := range order {
		fmt.Fprintf(&sb, "%s %d\n", base64.StdEncoding.EncodeToString([]byte{byte(b)}), rank)
	}
	return []byte(sb.String())
}

// openTextModel opens, on the reference backend, the tiny model's shape packing byteVocab.
func openTextModel(t *testing.T) *Engine {
	t.Helper()
	o, err := build.TinyOptions("../testdata/fast")
	if err != nil {
		t.Fatal(err)
	}
	o.TextBPE = byteVocab()
	path := filepath.Join(t.TempDir(), "text.udvla")
	if err := build.WriteRandom(path, o); err != nil {
		t.Fatal(err)
	}
	e, err := Open(path, Options{Backend: BackendReference})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// A model that packs a text vocabulary takes instructions as text and tokenizes the image size
// headers with it; for a Qwen-style vocabulary that equals the stored digit ids.
func TestTextInstructionAndHeaders(t *testing.T) {
	e := openTextModel(t)
	for _, c := range e.Config().Decoding.Cameras {
		if got, want := e.header(c.H, c.W), e.Config().Vocab.HeaderTokens(c.H, c.W); !reflect.DeepEqual(got, want) {
			t.Fatalf("header of %dx%d: tokenizer %v, digit ids %v", c.H, c.W, got, want)
		}
	}
	req := randomRequest(e.Config(), rand.New(rand.NewPCG(1, 3)))
	req.Instruction = nil
	req.InstructionText = "push the blue block"
	l, _, err := e.layout(req)
	if err != nil {
		t.Fatal(err)
	}
	want := e.text.Encode("push the blue block")
	if !reflect.DeepEqual(l.Prefix[1:1+len(want)], want) || l.TextLen != 1+len(want) {
		t.Fatalf("prefix %v does not start with BOS + %v", l.Prefix[:l.TextLen], want)
	}
	if _, err := e.Step(context.Background(), req); err != nil {
		t.Fatal(err)
	}
}

// The Emu3 tokenizer's added tokens are single ids in instruction text, as the reference's HF
// tokenizer reads them; the real layout's ids agree with the spec's table.
func TestSpecialTokensInInstructionText(t *testing.T) {
	real := emu3Specials(model.Emu3Vocab(1024))
	for s, id := range map[string]int32{"<|endoftext|>": 151643, "<|im_start|>": 151644, "<|extra_0|>": 151646,
		"<|extra_5|>": 151651, "<|extra_198|>": 151844, "<|extra_202|>": 151848, "<|extra_204|>": 151850,
		"<|image token|>": 151851, "<|image start|>": 151852, "<|image end|>": 151853,
		"<|visual token 000000|>": 151854, "<|visual token 032767|>": 184621} {
		if real[s] != id {
			t.Errorf("%s: %d, want %d", s, real[s], id)
		}
	}
	e := openTextModel(t)
	v := e.Config().Vocab
	ids, err := e.EncodeInstruction("go<|extra_198|>x<|image start|><|visual token 000003|><|endoftext|>")
	if err != nil {
		t.Fatal(err)
	}
	plain := func(s string) []int32 { return e.text.EncodeOrdinary(s) }
	want := append(append(plain("go"), v.BOA), plain("x")...)
	want = append(want, v.BOI, v.VisualOffset+3, v.Pad)
	if !reflect.DeepEqual(ids, want) {
		t.Fatalf("ids %v, want %v", ids, want)
	}
	// extra_5 has no id in a scaled layout: it stays text.
	if ids, _ := e.EncodeInstruction("<|extra_5|>"); !reflect.DeepEqual(ids, plain("<|extra_5|>")) {
		t.Errorf("<|extra_5|> in a scaled layout: %v", ids)
	}
}
