package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"runtime/debug"
	"strings"

	"github.com/udvla/udvla/engine"
	"github.com/udvla/udvla/engine/vk"
)

// status is a udvla.h status code; main.go checks that these values are the header's.
type status int32

const (
	statusOK status = iota
	statusNullPointer
	statusStructSize
	statusInvalidArgument
	statusOutOfRange
	statusBufferTooSmall
	statusInvalidHandle
	statusClosed
	statusNotFound
	statusModel
	statusDevice
	statusUnsupported
	statusEngine
	statusInternal
	statusCancelled
)

// abiVersion is UDVLA_ABI_VERSION.
const abiVersion = 1

// apiError is an error with the status it is reported under.
type apiError struct {
	status status
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func errorf(st status, format string, args ...any) error {
	return &apiError{status: st, msg: fmt.Sprintf(format, args...)}
}

// wrap gives err a status, keeping a status it already has.
func wrap(st status, err error) error {
	var ae *apiError
	if errors.As(err, &ae) {
		return err
	}
	return &apiError{status: st, msg: err.Error()}
}

// statusOf is the status an error is reported under: its own, or ENGINE for an error that was
// not classified.
func statusOf(err error) status {
	if err == nil {
		return statusOK
	}
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.status
	}
	if errors.Is(err, engine.ErrClosed) {
		return statusClosed
	}
	return statusEngine
}

// protect runs an exported function's body; a panic becomes an INTERNAL error instead of taking
// the host process down.
func protect(body func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errorf(statusInternal, "udvla: internal error (please report): %v\n%s", r, debug.Stack())
		}
	}()
	return body()
}

// isDeviceError reports whether err comes from the Vulkan layer.
func isDeviceError(err error) bool {
	var ve *vk.Error
	return errors.As(err, &ve) || errors.Is(err, vk.ErrNoDevice) || strings.HasPrefix(err.Error(), "vulkan:")
}

// classifyOpenFile gives a model.Open failure its status: a file that cannot be read is
// NOT_FOUND, one that is read but is not a model is MODEL.
func classifyOpenFile(err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
		return wrap(statusNotFound, err)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return wrap(statusNotFound, err)
	}
	return wrap(statusModel, err)
}

// classifyOpenEngine gives an engine.Open failure its status once the file itself opened: the
// model's tokenizers and statistics are MODEL, the rest is the backend's (DEVICE for Vulkan).
func classifyOpenEngine(err error, backend engine.Backend) error {
	switch {
	case isDeviceError(err):
		return wrap(statusDevice, err)
	case strings.HasPrefix(err.Error(), "udvla: the model's"):
		return wrap(statusModel, err)
	case backend == engine.BackendVulkan:
		return wrap(statusDevice, err)
	}
	return wrap(statusEngine, err)
}

// classifyStep gives an engine.Step failure its status. The library checks requests before they
// reach the engine, so these rules only meet what it cannot check itself (the token count of an
// encoded instruction text) and failures of the step proper.
func classifyStep(err error) error {
	msg := err.Error()
	switch {
	case errors.Is(err, context.Canceled):
		return wrap(statusCancelled, err)
	case errors.Is(err, engine.ErrClosed):
		return wrap(statusClosed, err)
	case errors.Is(err, engine.ErrNoLayout), strings.Contains(msg, "packs no text vocabulary"):
		return wrap(statusUnsupported, err)
	case strings.Contains(msg, "exceeds the engine's limit"), strings.Contains(msg, "outside the codebook"),
		strings.Contains(msg, "not a text id"), strings.Contains(msg, "out of range"):
		return wrap(statusOutOfRange, err)
	case isDeviceError(err):
		return wrap(statusDevice, err)
	}
	return wrap(statusEngine, err)
}
