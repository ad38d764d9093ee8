package main

import (
	"math"
	"sort"
	"time"
)

// Summary is the distribution of one set of samples, in seconds.
type Summary struct {
	N      int     `json:"n"`
	Median float64 `json:"median_s"`
	P90    float64 `json:"p90_s"`
	P99    float64 `json:"p99_s"`
	Min    float64 `json:"min_s"`
	Max    float64 `json:"max_s"`
}

// summarize sorts a copy of samples and returns its quantiles.
func summarize(samples []time.Duration) Summary {
	if len(samples) == 0 {
		return Summary{}
	}
	s := make([]float64, len(samples))
	for i, d := range samples {
		s[i] = d.Seconds()
	}
	return summarizeFloats(s)
}

// summarizeFloats returns the quantiles of s, which it sorts.
func summarizeFloats(s []float64) Summary {
	if len(s) == 0 {
		return Summary{}
	}
	sort.Float64s(s)
	return Summary{
		N: len(s), Median: quantile(s, 0.5), P90: quantile(s, 0.9), P99: quantile(s, 0.99),
		Min: s[0], Max: s[len(s)-1],
	}
}

// quantile interpolates linearly between the closest ranks of sorted s.
func quantile(s []float64, q float64) float64 {
	if len(s) == 1 {
		return s[0]
	}
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	frac := pos - float64(lo)
	return s[lo] + (s[hi]-s[lo])*frac
}

// ratio is a/b, or 0 when b is 0.
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
