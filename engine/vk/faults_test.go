package vk_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/engine/vk/vktest"
)

func TestParseFault(t *testing.T) {
	for _, c := range []struct {
		in     string
		result int32
		at     int64
	}{{"device_lost@1", -4, 1}, {"out_of_device_memory@17", -2, 17}} {
		r, at, err := vk.ParseFault(c.in)
		if err != nil || r != c.result || at != c.at {
			t.Errorf("%q: %d @ %d, %v", c.in, r, at, err)
		}
	}
	for _, bad := range []string{"device_lost", "device_lost@0", "device_lost@-3", "lost@2", "out_of_device_memory@x", "@4"} {
		if _, _, err := vk.ParseFault(bad); err == nil || !strings.Contains(err.Error(), vk.FaultEnv) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// The environment variable arms the device opened while it is set, and only that one: its
// chosen submission fails with the injected result, and after a lost device every use is
// refused with a message that says to open a new one, while the other device keeps working.
func TestFaultFromEnvironment(t *testing.T) {
	healthy := vktest.Device(t)
	os.Setenv(vk.FaultEnv, "device_lost@2")
	d, err := vk.Open(vktest.Options())
	os.Unsetenv(vk.FaultEnv)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	vktest.Gate(t, d.Instance())
	run := func(d *vk.Device) error {
		b, err := d.NewBuffer(64, vk.DeviceLocal, 0)
		if err != nil {
			return err
		}
		defer b.Close()
		s, err := d.NewSequence()
		if err != nil {
			return err
		}
		defer s.Close()
		lo, err := b.Bind(0, 32)
		if err != nil {
			return err
		}
		s.Copy(lo, vk.Binding{Buf: lo.Buf, Off: 32, Size: 32})
		return s.Run()
	}
	if err := run(d); err != nil {
		t.Fatalf("submission 1: %v", err)
	}
	err = run(d)
	var ve *vk.Error
	if !errors.As(err, &ve) || ve.Result != -4 {
		t.Fatalf("submission 2: %v, want VK_ERROR_DEVICE_LOST", err)
	}
	err = run(d)
	if !errors.As(err, &ve) || ve.Result != -4 || !strings.Contains(err.Error(), "open a new one") {
		t.Fatalf("after the loss: %v", err)
	}
	for i := 0; i < 3; i++ {
		if err := run(healthy); err != nil {
			t.Fatalf("the other device: %v", err)
		}
	}
	os.Setenv(vk.FaultEnv, "lost@2")
	_, err = vk.Open(vktest.Options())
	os.Unsetenv(vk.FaultEnv)
	if err == nil || !strings.Contains(err.Error(), vk.FaultEnv) {
		t.Fatalf("a malformed %s opened a device: %v", vk.FaultEnv, err)
	}
}
