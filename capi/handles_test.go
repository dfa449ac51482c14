package main

import (
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
)

func statusOfErr(t *testing.T, err error) status {
	t.Helper()
	var ae *apiError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v has no status", err)
	}
	return ae.status
}

func TestHandleTableLifecycle(t *testing.T) {
	var tab handleTable[string]
	if _, err := tab.get(0); statusOfErr(t, err) != statusInvalidHandle {
		t.Errorf("handle 0: %v", err)
	}
	a, b := tab.add("a"), tab.add("b")
	if a == 0 || b == 0 || a == b {
		t.Fatalf("handles %d, %d", a, b)
	}
	if v, err := tab.get(b); err != nil || v != "b" {
		t.Errorf("get(b) = %q, %v", v, err)
	}
	if v, err := tab.remove(a); err != nil || v != "a" {
		t.Errorf("remove(a) = %q, %v", v, err)
	}
	if _, err := tab.get(a); statusOfErr(t, err) != statusClosed {
		t.Errorf("get after remove: %v", err)
	}
	if _, err := tab.remove(a); statusOfErr(t, err) != statusClosed {
		t.Errorf("second remove: %v", err)
	}
	if _, err := tab.get(b + 1); statusOfErr(t, err) != statusInvalidHandle {
		t.Errorf("never given out: %v", err)
	}
	// a handle is never reused, so the removed one stays CLOSED
	c := tab.add("c")
	if c == a || c == b {
		t.Errorf("handle %d reused", c)
	}
	if _, err := tab.get(a); statusOfErr(t, err) != statusClosed {
		t.Errorf("removed handle after a new add: %v", err)
	}
	if tab.len() != 2 {
		t.Errorf("len %d, want 2", tab.len())
	}
}

func TestHandleTableConcurrent(t *testing.T) {
	var tab handleTable[int]
	var wg sync.WaitGroup
	const workers, each = 8, 300
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 99))
			var mine []uint64
			for i := 0; i < each; i++ {
				v := w*each + i
				h := tab.add(v)
				mine = append(mine, h)
				if got, err := tab.get(h); err != nil || got != v {
					t.Errorf("get(%d) = %d, %v; want %d", h, got, err, v)
				}
				if r.IntN(2) == 0 {
					k := r.IntN(len(mine))
					tab.remove(mine[k])
					mine = append(mine[:k], mine[k+1:]...)
				}
			}
			for _, h := range mine {
				if _, err := tab.remove(h); err != nil {
					t.Errorf("remove(%d): %v", h, err)
				}
			}
		}(w)
	}
	wg.Wait()
	if tab.len() != 0 {
		t.Errorf("%d handles left", tab.len())
	}
	if tab.last != workers*each {
		t.Errorf("last handle %d, want %d", tab.last, workers*each)
	}
}
