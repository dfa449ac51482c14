package textok

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"strconv"
)

// maxRank bounds ranks so that a corrupt file cannot make Decode allocate without limit.
const maxRank = 1 << 24

// readRanks parses tiktoken "base64(bytes) rank" lines. Blank lines are skipped; anything else
// malformed, a repeated byte string or a repeated rank is an error, since either would make
// encoding or decoding ambiguous.
func readRanks(r io.Reader) (map[string]int32, [][]byte, error) {
	ranks := make(map[string]int32)
	var byRank [][]byte
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		fields := bytes.Fields(text)
		if len(fields) != 2 {
			return nil, nil, fmt.Errorf("textok: vocabulary line %d: want \"base64 rank\", got %d fields", line, len(fields))
		}
		tok, err := base64.StdEncoding.DecodeString(string(fields[0]))
		if err != nil {
			return nil, nil, fmt.Errorf("textok: vocabulary line %d: %w", line, err)
		}
		if len(tok) == 0 {
			return nil, nil, fmt.Errorf("textok: vocabulary line %d: empty token", line)
		}
		rank, err := strconv.ParseInt(string(fields[1]), 10, 32)
		if err != nil || rank < 0 || rank >= maxRank {
			return nil, nil, fmt.Errorf("textok: vocabulary line %d: bad rank %q", line, fields[1])
		}
		if prev, dup := ranks[string(tok)]; dup {
			return nil, nil, fmt.Errorf("textok: vocabulary line %d: token %q already has rank %d", line, tok, prev)
		}
		for int(rank) >= len(byRank) {
			byRank = append(byRank, nil)
		}
		if byRank[rank] != nil {
			return nil, nil, fmt.Errorf("textok: vocabulary line %d: rank %d given twice", line, rank)
		}
		byRank[rank] = tok
		ranks[string(tok)] = int32(rank)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("textok: reading vocabulary: %w", err)
	}
	// Byte-level BPE can encode any text only if every single byte is a token.
	for b := 0; b < 256; b++ {
		if _, ok := ranks[string([]byte{byte(b)})]; !ok {
			return nil, nil, fmt.Errorf("textok: vocabulary lacks the single byte 0x%02x", b)
		}
	}
	return ranks, byRank, nil
}
