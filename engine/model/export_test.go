package model

// The external tests (package model_test) craft files with engine/model/build, which imports this
// package; these hooks give them the parser without the file system and its panic counters.
var (
	Parse          = parse
	AccessorPanics = &accessorPanics
	ParsePanics    = &parsePanics
)

// CheckPadding runs the zero-padding check of Open on an open file.
func CheckPadding(f *File) error { return checkPadding(f.data, f.Tensors) }
