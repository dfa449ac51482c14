package frame

import (
	"fmt"
	"os"
)

// DecodeFile is Decode of a PNG or JPEG file; errors name the file.
func DecodeFile(path string) (*Frame, error) {
	fd, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fd.Close()
	f, err := Decode(fd)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}
