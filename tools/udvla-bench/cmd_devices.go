package main

import (
	"fmt"
	"io"

	"github.com/udvla/udvla/engine/gpu"
	"github.com/udvla/udvla/engine/vk"
)

func runDevices(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("devices", stderr)
	sel := fs.String("device", "", "device index or name substring to choose (default: $UDVLA_DEVICE, else the best)")
	jsonPath := fs.String("json", "", "also write the devices to this JSON file (docs/bench.schema.json)")
	kernels := fs.String("kernels", "", kernelsUsage)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if err := gpu.CheckKernels(*kernels); err != nil {
		return err
	}
	opts := vk.Options{}.WithEnv()
	if *sel != "" {
		opts.Device = *sel
	}
	in, err := vk.NewInstance(opts)
	if err != nil {
		return err
	}
	defer in.Close()
	best, err := in.Choose(opts.Device)
	if err != nil {
		return err
	}
	rep := newReport("devices")
	for _, d := range in.Devices() {
		di := toDeviceInfo(d)
		k, kerr := overrideKernels(d, *kernels)
		if kerr != nil && d.Index == best.Index {
			return kerr
		}
		if kerr == nil {
			di.Kernels = k.Map()
		}
		rep.Devices = append(rep.Devices, di)
		mark := " "
		if d.Index == best.Index {
			mark = "*"
			rep.Device = &di
		}
		ts := "no timestamps: no per-kernel times"
		if d.Timestamps {
			ts = fmt.Sprintf("timestamps every %g ns", d.TimestampPeriodNS)
		}
		fmt.Fprintf(stdout, "%s %v\n    %d MiB device-local, %s\n", mark, d, di.DeviceLocalMiB, ts)
		if len(d.Missing) > 0 {
			fmt.Fprintf(stdout, "    unusable: lacks %v\n", d.Missing)
		}
		printKernelFacts(stdout, di)
		if kerr != nil {
			fmt.Fprintf(stdout, "    (the override does not apply here: %v)\n", kerr)
		}
	}
	fmt.Fprintf(stdout, "measured by default: %d (%s); choose with --device or UDVLA_DEVICE=<index|name>\n", best.Index, best.Name)
	if *jsonPath != "" {
		return rep.write(*jsonPath)
	}
	return nil
}
