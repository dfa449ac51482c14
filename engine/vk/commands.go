package vk

// Work is the nominal work of one recorded command, stated by the code that records it (for a
// dispatch, the kernel's Record, beside the push constants it writes), so that a profile divides
// the command's time by it to get achieved GFLOP/s and GB/s. It stays on the Go side: the command
// buffer never sees it.
//
// FLOPs count a multiply-add as two; Bytes are the minimal traffic: every operand read once and
// every result written once.
type Work struct {
	Label string // the kernel, with the weight dtype where it has one ("matmul q8_0"), or "copy"
	FLOPs float64
	Bytes float64
	// Pairs is set (NQ > 0) for a dispatch whose FLOPs grow with (query, key) pairs, so that a
	// profile that knows the mask can count only the visible pairs.
	Pairs PairWork
}

// PairWork is the extent of an attention dispatch: queries at positions [Q0, Q0+NQ) over keys
// [0, NK), at FLOPsPerPair each.
type PairWork struct {
	Q0, NQ, NK   int
	FLOPsPerPair float64
}

// VisiblePairs counts the (query, key) pairs of the extent that allowed permits.
func (a PairWork) VisiblePairs(allowed func(q, k int) bool) float64 {
	n := 0
	for q := a.Q0; q < a.Q0+a.NQ; q++ {
		for k := 0; k < a.NK; k++ {
			if allowed(q, k) {
				n++
			}
		}
	}
	return float64(n)
}

// Work describes the sequence's commands in recording order: Durations()[i] is the time of
// Work()[i]. The slice is the sequence's own until the next Reset.
func (s *Sequence) Work() []Work { return s.work }
