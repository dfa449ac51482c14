package main

import (
	"math"
	"sort"
)

// stat summarises repeated measurements.
type stat struct {
	Median float64 `json:"median"`
	P90    float64 `json:"p90"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	Mean   float64 `json:"mean"`
	N      int     `json:"n"`
}

// summarise computes the statistics of xs. Percentiles interpolate linearly between order
// statistics (the median of an even count is the mean of the middle two).
func summarise(xs []float64) stat {
	if len(xs) == 0 {
		return stat{}
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	sum := 0.0
	for _, x := range s {
		sum += x
	}
	return stat{Median: percentile(s, 0.5), P90: percentile(s, 0.9), Min: s[0], Max: s[len(s)-1],
		Mean: sum / float64(len(s)), N: len(s)}
}

// percentile of sorted values, p in [0, 1].
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 1 {
		return sorted[0]
	}
	x := p * float64(len(sorted)-1)
	i := int(math.Floor(x))
	if i >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	f := x - float64(i)
	return sorted[i] + f*(sorted[i+1]-sorted[i])
}
