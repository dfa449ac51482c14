package vk_test

import (
	"strings"
	"testing"

	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/engine/vk/vktest"
)

// UDVLA_DEVICE chooses the device only when the options name none: a named device wins.
func TestExplicitDeviceWinsOverEnv(t *testing.T) {
	t.Setenv("UDVLA_DEVICE", "no-such-device")
	if got := (vk.Options{Device: "0"}).WithEnv().Device; got != "0" {
		t.Errorf("Options{Device: 0}.WithEnv().Device = %q, want 0", got)
	}
	if got := (vk.Options{}).WithEnv().Device; got != "no-such-device" {
		t.Errorf("Options{}.WithEnv().Device = %q, want UDVLA_DEVICE's", got)
	}
	opts := vktest.Options()
	opts.Device = "0"
	dev, err := vk.Open(opts)
	if err != nil {
		t.Fatalf("open device 0 with UDVLA_DEVICE naming none: %v", err)
	}
	vktest.Gate(t, dev.Instance())
	t.Cleanup(dev.Close)
	opts.Device = ""
	if d, err := vk.Open(opts); err == nil {
		d.Close()
		t.Fatal("UDVLA_DEVICE=no-such-device with no device named: opened one")
	} else if !strings.Contains(err.Error(), "no-such-device") {
		t.Errorf("the error does not name UDVLA_DEVICE's value: %v", err)
	}
}

// The settings are read through vk.Getenv at the time of the call, so that a host process can
// route them through its own environment (the C library uses libc's).
func TestSettingsReadThroughGetenv(t *testing.T) {
	saved := vk.Getenv
	t.Cleanup(func() { vk.Getenv = saved })
	env := map[string]string{"UDVLA_VALIDATE": "1", "UDVLA_DEVICE": "lavapipe"}
	vk.Getenv = func(k string) string { return env[k] }
	o := vk.Options{}.WithEnv()
	if !o.Validate || !o.SyncValidate || !o.Robust || o.Device != "lavapipe" {
		t.Errorf("WithEnv with both set: %+v", o)
	}
	env["UDVLA_VALIDATE"], env["UDVLA_DEVICE"] = "0", ""
	if o := (vk.Options{}).WithEnv(); o.Validate || o.Device != "" {
		t.Errorf("WithEnv with UDVLA_VALIDATE=0: %+v", o)
	}
}
