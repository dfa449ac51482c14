package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestDevicesCommand(t *testing.T) {
	var out, errb bytes.Buffer
	if code := dispatch([]string{"devices"}, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "chosen:") || !strings.Contains(out.String(), "*") {
		t.Fatalf("output lacks the chosen device:\n%s", out.String())
	}
	out.Reset()
	if code := dispatch([]string{"devices", "-json"}, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var v struct {
		Devices []struct{ Name string }
		Chosen  int
	}
	if err := json.Unmarshal(out.Bytes(), &v); err != nil || len(v.Devices) == 0 || v.Devices[v.Chosen].Name == "" {
		t.Fatalf("bad JSON (%v): %s", err, out.String())
	}
}

func TestUnknownCommand(t *testing.T) {
	var out, errb bytes.Buffer
	if code := dispatch([]string{"frobnicate"}, nil, &out, &errb); code != 2 || !strings.Contains(errb.String(), "unknown command") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
}
