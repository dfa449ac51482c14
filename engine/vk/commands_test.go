package vk

import (
	"fmt"
	"reflect"
	"testing"
)

// parseSpec reads back the constants Device.Pipeline writes into its keys.
func TestParseSpec(t *testing.T) {
	for _, spec := range [][]uint32{{64, 8, 2, 4, 1, 1}, {7}, {}, {4294967295, 0}} {
		key := fmt.Sprint(spec, 5, 56, 8) // as Device.Pipeline forms pipelineKey.spec
		got := parseSpec(key)
		if len(spec) == 0 {
			if len(got) != 0 {
				t.Errorf("%q: %v", key, got)
			}
			continue
		}
		if !reflect.DeepEqual(got, spec) {
			t.Errorf("%q: %v, want %v", key, got, spec)
		}
	}
	for _, bad := range []string{"", "64 8", "[64 x] 5", "[99999999999] 1"} {
		if got := parseSpec(bad); got != nil {
			t.Errorf("%q: %v, want nil", bad, got)
		}
	}
}
