package ref

import "math"

// MaskLen is the number of positions re-masked after step s (0-based) of a T-step loop over n
// positions (pre-filled ones included), unknown of which were MASK before the step (spec §5 step 7):
//
//	mask_len = max(1, min(unknown-1, floor(n·cos(π/2·r)))),  r = (s+1)/T.
//
// The product is evaluated in float64. (The release evaluates the cosine in float32, which differs
// only where n·cos(π/2·r) is an exact integer: e.g. n = 70, T = 72, s = 47 gives 35 here and 34 there.
// For the joint CALVIN loop, n = 817 and T = 72, both agree at every step.)
func MaskLen(n, s, steps, unknown int) int {
	r := float64(s+1) / float64(steps)
	m := int(math.Floor(float64(n) * math.Cos(math.Pi/2*r)))
	m = min(unknown-1, m)
	return max(1, m)
}

// TauAfter is the confidence-noise temperature used at step s of a T-step loop: it starts at 1 and
// is multiplied by (1 - r) at every step before use (spec §5 step 8), so it compounds:
// tau_s = Π_{i=0..s} (1 - (i+1)/T). The last step's tau is exactly 0.
func TauAfter(s, steps int) float64 {
	tau := 1.0
	for i := 0; i <= s; i++ {
		tau *= 1 - float64(i+1)/float64(steps)
	}
	return tau
}
