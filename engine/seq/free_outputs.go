package seq

// FreeOutputs reads the outputs of a region generated freely (autoregressive decoding without
// pre-filled tokens, which may put BOA anywhere): the actions are the tokens after the first BOA
// up to the first EOA after it, at most ActionLen-1 of them (what the layout's action region
// holds, so that every output fits the sizes a model's layout gives; none without a BOA), and the
// future-image codes are read at the layout's positions as Outputs does (-1 where a token is not
// visual). EOAFound says the EOA came within those ActionLen-1 tokens.
func (l *Layout) FreeOutputs(region []int32) Outputs {
	v := l.Vocab
	o := l.Outputs(region)
	o.Actions, o.EOAFound = []int32{}, false
	boa := -1
	for i, id := range region {
		if id == v.BOA {
			boa = i
			break
		}
	}
	if boa < 0 {
		return o
	}
	for _, id := range region[boa+1:] {
		if id == v.EOA {
			o.EOAFound = true
			break
		}
		if len(o.Actions) == l.ActionLen-1 {
			break
		}
		o.Actions = append(o.Actions, id)
	}
	return o
}
