package engine

// ValidationMessages is the number of Vulkan validation messages (warnings and errors) the
// engine's device has reported since it was opened, with the kept texts of the first ones: zero
// unless Options.Validate (or UDVLA_VALIDATE=1) turned the Khronos layer on, and zero for the
// reference backend. Tests of code that wraps the engine fail on a non-zero count.
func (e *Engine) ValidationMessages() (uint64, []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	b, ok := e.be.(validator)
	if !ok || e.closed {
		return 0, nil
	}
	return b.ValidationMessages()
}

// validator is a backend whose device reports validation messages.
type validator interface {
	ValidationMessages() (uint64, []string)
}
