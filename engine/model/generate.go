package model

// testdata/tiny.udvla is the random model of TinyOptions; TestTinyModelRegenerates checks it.
//go:generate go run ../../tools/udvla random --tiny --fast-root ../../testdata/fast --out ../../testdata/tiny.udvla

// testdata/tiny_vq.udvla is TinyVQOptions, a vision tokenizer alone; TestTinyVQModelRegenerates checks it.
//go:generate go run ../../tools/udvla random --tiny-vq --out ../../testdata/tiny_vq.udvla
