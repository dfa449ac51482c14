package gpu

// Tokens are the special token ids the decoding kernels compare against, as plain numbers: the
// vocabulary layout of the model supplies them.
type Tokens struct {
	Mask, BOA, EOA, BOI, EOI, Pad int32
}
