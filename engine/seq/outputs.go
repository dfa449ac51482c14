package seq

// Outputs are the parts of a decoded region a controller uses.
type Outputs struct {
	Actions     []int32   // token ids strictly between BOA and the first EOA (to the end without one)
	FutureCodes [][]int32 // per camera, H*W row-major: visual code (id - VisualOffset), or -1
	EOAFound    bool
}

// Outputs cuts a decoded region (N tokens) at the first EOA and reads the future-image codes.
func (l *Layout) Outputs(region []int32) Outputs {
	v := l.Vocab
	var o Outputs
	tail := region[l.BOA+1:]
	for i, id := range tail {
		if id == v.EOA {
			o.EOAFound = true
			tail = tail[:i]
			break
		}
	}
	o.Actions = append([]int32{}, tail...)
	for _, b := range l.FutureImages {
		codes := make([]int32, b.H*b.W)
		for i := range codes {
			id := region[b.Visual+i]
			codes[i] = -1
			if v.IsVisual(id) {
				codes[i] = id - v.VisualOffset
			}
		}
		o.FutureCodes = append(o.FutureCodes, codes)
	}
	return o
}
