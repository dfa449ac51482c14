package textok

import "math"

const noRank = math.MaxInt32

// part is one piece boundary of the merge loop: start is its byte offset, rank the rank of the
// byte string that merging it with its right neighbour would make (noRank when none).
type part struct {
	start int
	rank  int32
}

// bytePairEncode appends the ranks of piece's BPE tokens to out. It is tiktoken's
// byte_pair_merge: repeatedly merge the adjacent pair whose concatenation has the lowest rank,
// the leftmost one on ties, until no adjacent concatenation is in the vocabulary.
func (t *Tokenizer) bytePairEncode(piece string, out []int32) []int32 {
	if r, ok := t.ranks[piece]; ok {
		return append(out, r)
	}
	n := len(piece)
	if n == 1 { // every single byte is a token (checked at load), so this is unreachable
		return out
	}
	var buf [64]part
	parts := buf[:0]
	rankOf := func(a, b int) int32 {
		if r, ok := t.ranks[piece[a:b]]; ok {
			return r
		}
		return noRank
	}
	for i := 0; i < n-1; i++ {
		parts = append(parts, part{i, rankOf(i, i+2)})
	}
	parts = append(parts, part{n - 1, noRank}, part{n, noRank})
	// rankAt is the rank of merging parts i and i+1 once they are adjacent: the bytes from part
	// i up to part i+2.
	rankAt := func(i int) int32 {
		if i+3 < len(parts) {
			return rankOf(parts[i].start, parts[i+3].start)
		}
		return noRank
	}
	for {
		best, at := int32(noRank), -1
		for i := 0; i < len(parts)-1; i++ {
			if parts[i].rank < best {
				best, at = parts[i].rank, i
			}
		}
		if at < 0 {
			break
		}
		if at > 0 {
			parts[at-1].rank = rankAt(at - 1)
		}
		parts[at].rank = rankAt(at)
		parts = append(parts[:at+1], parts[at+2:]...)
	}
	for i := 0; i+1 < len(parts); i++ {
		out = append(out, t.ranks[piece[parts[i].start:parts[i+1].start]])
	}
	return out
}
