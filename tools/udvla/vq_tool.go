package main

import (
	"errors"
	"flag"
	"fmt"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/vk"
)

// vqToolFlags are the options vq-encode and vq-decode share: the model and where to run.
type vqToolFlags struct {
	model, device, backend *string
	validate               *bool
}

func addVQToolFlags(fs *flag.FlagSet, what string) vqToolFlags {
	return vqToolFlags{
		model:    fs.String("model", "", "model file with a vision tokenizer, e.g. testdata/tiny_vq.udvla (required)"),
		device:   fs.String("device", "", "Vulkan device index or name substring (default: $UDVLA_DEVICE, else the best)"),
		backend:  fs.String("backend", "vulkan", "vulkan (the device "+what+") or reference (the float64 specification, slow)"),
		validate: fs.Bool("validate", false, "enable the Khronos validation layer (Vulkan backend)"),
	}
}

// reference reports whether the float64 reference runs, after checking the backend options.
func (f vqToolFlags) reference() (bool, error) {
	switch *f.backend {
	case "vulkan":
		return false, nil
	case "reference":
		if *f.device != "" || *f.validate {
			return true, errors.New("--device and --validate choose a Vulkan device: drop them with --backend reference")
		}
		return true, nil
	}
	return false, fmt.Errorf("unknown --backend %q: want vulkan or reference", *f.backend)
}

// open opens the model file and its vision tokenizer.
func (f vqToolFlags) open() (*model.File, error) {
	file, err := model.Open(*f.model)
	if err != nil {
		return nil, err
	}
	if file.Config.VQ == nil {
		file.Close()
		return nil, fmt.Errorf("%s has no vision tokenizer: pack one with udvla convert --vq DIR", *f.model)
	}
	return file, nil
}

// openDevice opens the Vulkan device the flags choose.
func (f vqToolFlags) openDevice() (*vk.Device, error) {
	opts := vk.Options{Device: *f.device, Validate: *f.validate, SyncValidate: *f.validate}
	if *f.device == "" {
		opts = opts.WithEnv()
	}
	return vk.Open(opts)
}
