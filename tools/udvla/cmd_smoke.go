package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/udvla/udvla/engine/gpu"
	"github.com/udvla/udvla/engine/ref"
	"github.com/udvla/udvla/engine/vk"
)

func init() {
	register("smoke", "run one shader on the chosen device and check it against the CPU reference", runSmoke)
}

func runSmoke(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("smoke", stderr)
	sel := fs.String("device", "", "device index or name substring (default: the best)")
	n := fs.Int("n", 1<<20+7, "elements")
	validate := fs.Bool("validate", false, "enable the Khronos validation layer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n <= 0 {
		return fmt.Errorf("-n must be positive")
	}
	opts := vk.Options{Device: *sel, Validate: *validate, SyncValidate: *validate}
	if *sel == "" {
		opts = opts.WithEnv()
	}
	dev, err := vk.Open(opts)
	if err != nil {
		return err
	}
	defer dev.Close()
	fmt.Fprintf(stdout, "device: %v\n", dev.Info)
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	x, d := make([]float32, *n), make([]float32, *n)
	for i := range x {
		x[i], d[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
	}
	want, err := ref.Add(x, d)
	if err != nil {
		return err
	}
	k, err := gpu.NewAdd(dev)
	if err != nil {
		return err
	}
	xb, err := dev.NewBuffer(int64(4**n), vk.DeviceLocal, 0)
	if err != nil {
		return err
	}
	defer xb.Close()
	db, err := dev.NewBuffer(int64(4**n), vk.DeviceLocal, 0)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := vk.WriteFloat32s(xb, 0, x); err != nil {
		return err
	}
	if err := vk.WriteFloat32s(db, 0, d); err != nil {
		return err
	}
	s, err := dev.NewSequence()
	if err != nil {
		return err
	}
	defer s.Close()
	s.Timing = true
	xbd, err := xb.All()
	if err != nil {
		return err
	}
	dbd, err := db.All()
	if err != nil {
		return err
	}
	k.Record(s, xbd, dbd, *n)
	if err := s.Run(); err != nil {
		return err
	}
	got := make([]float32, *n)
	if err := vk.ReadFloat32s(xb, 0, got); err != nil {
		return err
	}
	for i := range want {
		if got := got[i]; got != want[i] {
			return fmt.Errorf("element %d: device gave %g, reference %g", i, got, want[i])
		}
	}
	durs, err := s.Durations()
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("smoke: add of %d floats matches the CPU reference", *n)
	if len(durs) == 1 && durs[0] > 0 {
		msg += fmt.Sprintf(" (GPU %.3f ms, %.2f GB/s)", durs[0].Seconds()*1e3, float64(12**n)/durs[0].Seconds()/1e9)
	}
	fmt.Fprintln(stdout, msg)
	return nil
}
