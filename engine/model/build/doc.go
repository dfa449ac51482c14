// Package build makes .udvla model files: the writer and its header encoder, the converter from
// Hugging Face checkpoints (safetensors, config.json, FAST tokenizer files) and the random models
// the tests and benchmarks use. It is tooling: the engine and libudvla.so read model files through
// package model alone and never link this package (TestRuntimeDoesNotLinkTooling).
package build
