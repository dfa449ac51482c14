package vision

import "github.com/udvla/udvla/engine/model"

// timeSource is one distinct input frame of a temporal convolution's output frame and the taps
// that read it.
type timeSource struct {
	frame int // index into the level's input frames
	taps  []int
}

// temporalPlan works out the encoder's temporal downsampling for a still image exactly, without
// running the 2-D encoder more than once: the input clip is the same frame repeated over the
// temporal factor, and each causal kernel-4 stride-2 convolution (two zero frames in front) reads
// per output frame some padding and some input frames. Input frames that are the same map are
// read once, with the sum of their taps: level 0 sees [0, 0, h, h, h, h], so its first output
// uses taps 2 and 3 of h and its second all four; the next level reads two distinct frames.
// plan[i][t] lists the distinct sources of output frame t of level i.
func temporalPlan(cfg *model.VQConfig) [][][]timeSource {
	// ids[f] names the distinct map input frame f is: all the same at first.
	ids := make([]int, cfg.TemporalDownsampleFactor)
	var plan [][][]timeSource
	for i := 0; i < cfg.TemporalBlocks(); i++ {
		nOut := (len(ids)+2-4)/2 + 1
		level := make([][]timeSource, nOut)
		for t := 0; t < nOut; t++ {
			at := map[int]int{} // distinct id -> index in level[t]
			for tau := 0; tau < 4; tau++ {
				src := 2*t + tau - 2
				if src < 0 {
					continue // zero padding
				}
				id := ids[src]
				j, ok := at[id]
				if !ok {
					j = len(level[t])
					at[id] = j
					level[t] = append(level[t], timeSource{frame: src})
				}
				level[t][j].taps = append(level[t][j].taps, tau)
			}
		}
		plan = append(plan, level)
		// Every output frame is its own map from here on (their kernels differ).
		ids = make([]int, nOut)
		for t := range ids {
			ids[t] = t
		}
	}
	return plan
}
