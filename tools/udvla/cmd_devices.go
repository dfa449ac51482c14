package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/udvla/udvla/engine/vk"
)

func init() {
	register("devices", "list the Vulkan devices and which one would be chosen", runDevices)
}

func runDevices(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("devices", stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	sel := fs.String("device", "", "device index or name substring to choose (default: the best)")
	if err := fs.Parse(args); err != nil {
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
	devs := in.Devices()
	best, err := in.Choose(opts.Device)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Devices []vk.DeviceInfo `json:"devices"`
			Chosen  int             `json:"chosen"`
		}{devs, best.Index})
	}
	for _, d := range devs {
		mark := " "
		if d.Index == best.Index {
			mark = "*"
		}
		fmt.Fprintf(stdout, "%s %v\n", mark, d)
		fmt.Fprintf(stdout, "    maxStorageBufferRange %d MiB, maxAllocation %d MiB, subgroup %d..%d, timestamps %v",
			d.MaxStorageBufferRange>>20, d.MaxAllocationSize>>20, d.MinSubgroup, d.MaxSubgroup, d.Timestamps)
		for i, h := range d.Heaps {
			fmt.Fprintf(stdout, ", heap%d %d MiB", i, h.Size>>20)
			if h.DeviceLocal {
				fmt.Fprint(stdout, " (device-local)")
			}
		}
		fmt.Fprintln(stdout)
		if len(d.Missing) > 0 {
			fmt.Fprintf(stdout, "    unusable: lacks %v\n", d.Missing)
		}
	}
	fmt.Fprintf(stdout, "chosen: %d (%s); override with --device or UDVLA_DEVICE=<index|name>\n", best.Index, best.Name)
	return nil
}
