package fast

// The GPT-2 byte alphabet of HF ByteLevel: printable Latin-1 bytes stand for themselves, the 68
// others (controls, space, DEL, C1, NBSP, soft hyphen) are moved to U+0100 upwards in byte order.
var (
	byteToChar [256]rune
	charToByte = map[rune]byte{}
)

func init() {
	printable := func(b int) bool {
		return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)
	}
	n := 0
	for b := 0; b < 256; b++ {
		c := rune(b)
		if !printable(b) {
			c = rune(256 + n)
			n++
		}
		byteToChar[b] = c
		charToByte[c] = byte(b)
	}
}

// tokenBytes is what the ByteLevel decoder makes of one token string: the bytes its characters
// stand for when every character is in the alphabet, else the token's own UTF-8 bytes (the Rust
// decoder's try_fold falls back to t.as_bytes() for the whole token).
func tokenBytes(tok string) []byte {
	out := make([]byte, 0, len(tok))
	for _, c := range tok {
		b, ok := charToByte[c]
		if !ok {
			return []byte(tok)
		}
		out = append(out, b)
	}
	return out
}

// byteLevelString maps the UTF-8 bytes of s to alphabet characters, as the ByteLevel
// pre-tokenizer does before BPE.
func byteLevelString(s string) []rune {
	out := make([]rune, len(s))
	for i := 0; i < len(s); i++ {
		out[i] = byteToChar[s[i]]
	}
	return out
}
