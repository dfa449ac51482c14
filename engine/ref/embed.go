package ref

import "fmt"

// Embed gathers the rows of table [vocab, hidden] named by ids into x [len(ids), hidden].
func Embed(table []float32, vocab, hidden int, ids []int32) ([]float32, error) {
	if len(table) != vocab*hidden {
		return nil, fmt.Errorf("embed: table has %d values, want %d x %d", len(table), vocab, hidden)
	}
	x := make([]float32, len(ids)*hidden)
	for i, id := range ids {
		if id < 0 || int(id) >= vocab {
			return nil, fmt.Errorf("embed: token %d is id %d, outside the vocabulary [0, %d)", i, id, vocab)
		}
		copy(x[i*hidden:(i+1)*hidden], table[int(id)*hidden:(int(id)+1)*hidden])
	}
	return x, nil
}
