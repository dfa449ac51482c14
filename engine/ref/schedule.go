package ref

import "math"

// MaskLen is the number of positions re-masked after step s (0-based) of a T-step loop over n
// positions (pre-filled ones included), unknown of which were MASK before the step (spec §5 step 7):
//
//	mask_len = max(1, min(unknown-1, MaskLenBase(n, s, T))).
func MaskLen(n, s, steps, unknown int) int {
	m := MaskLenBase(n, s, steps)
	m = min(unknown-1, m)
	return max(1, m)
}

// MaskLenBase is floor(n·cos(π/2·r)), r = (s+1)/T, before the clamp of MaskLen, evaluated with the
// float32 operations of the release: torch.cos(torch.tensor(r) * math.pi * 0.5) on a float32 0-dim
// tensor, then (n * mask_ratio).floor(). Each step rounds to float32 (r itself, the product with
// float32(π), the cosine), so that the result differs from float64 where n·cos is within float32
// rounding of an integer: Bridge n = 708, T = 96, s = 63 gives 353 here, 354 in float64. At r = 1
// the float32 cosine is -4.4e-8, so the base is -1 and the clamp raises it to 1.
// testdata/gen_mask_len.py transcribes the torch expression; the explicit float32 conversions keep
// Go from fusing the multiplications.
func MaskLenBase(n, s, steps int) int {
	r := float32(float64(s+1) / float64(steps))
	x := float32(r * float32(math.Pi))
	x = float32(x * 0.5)
	c := float32(math.Cos(float64(x))) // the correctly rounded float32 cosine
	return int(math.Floor(float64(float32(float32(n) * c))))
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
