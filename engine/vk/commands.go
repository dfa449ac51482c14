package vk

/*
#include "vkc.h"
*/
import "C"

import (
	"strconv"
	"strings"
	"unsafe"
)

// CommandKind is what a recorded command does.
type CommandKind int

const (
	CommandDispatch CommandKind = iota
	CommandCopy
	CommandFill
	CommandBarrier
)

func (k CommandKind) String() string {
	switch k {
	case CommandDispatch:
		return "dispatch"
	case CommandCopy:
		return "copy"
	case CommandFill:
		return "fill"
	case CommandBarrier:
		return "barrier"
	}
	return "command(" + strconv.Itoa(int(k)) + ")"
}

// Command describes one recorded command of a sequence, so that profiles can say which kernel
// each timestamp interval belongs to and how much work it did.
type Command struct {
	Kind CommandKind
	// Pipeline is the dispatched shader's name; Spec its specialization constants. Both are empty
	// for copies and fills, and for a pipeline the device no longer knows.
	Pipeline string
	Spec     []uint32
	Groups   [3]uint32
	Push     []byte // the push constants as recorded
	Bytes    int64  // bytes copied or filled
}

// Commands describes the sequence's commands in recording order: Durations()[i] is the time of
// Commands()[i].
func (s *Sequence) Commands() []Command {
	type pipeInfo struct {
		name string
		spec []uint32
	}
	byHandle := map[uint64]pipeInfo{}
	s.dev.pipeMu.Lock()
	for k, p := range s.dev.pipelines {
		byHandle[p.handle] = pipeInfo{k.name, parseSpec(k.spec)}
	}
	s.dev.pipeMu.Unlock()
	out := make([]Command, len(s.cmds))
	for i := range s.cmds {
		c := &s.cmds[i]
		o := &out[i]
		switch c.kind {
		case C.UV_CMD_DISPATCH:
			o.Kind = CommandDispatch
			if p, ok := byHandle[uint64(c.pipeline)]; ok {
				o.Pipeline, o.Spec = p.name, p.spec
			}
			o.Groups = [3]uint32{uint32(c.groups[0]), uint32(c.groups[1]), uint32(c.groups[2])}
			o.Push = C.GoBytes(unsafe.Pointer(&c.push[0]), C.int(c.push_size))
		case C.UV_CMD_COPY:
			o.Kind, o.Bytes = CommandCopy, int64(c.rng[0])
		case C.UV_CMD_FILL:
			o.Kind, o.Bytes = CommandFill, int64(c.rng[0])
		default:
			o.Kind = CommandBarrier
		}
	}
	return out
}

// parseSpec recovers the specialization constants from a pipeline key, which Device.Pipeline
// writes as fmt.Sprint(spec, ...): "[a b c] ...".
func parseSpec(key string) []uint32 {
	end := strings.IndexByte(key, ']')
	if !strings.HasPrefix(key, "[") || end < 0 {
		return nil
	}
	var out []uint32
	for _, f := range strings.Fields(key[1:end]) {
		v, err := strconv.ParseUint(f, 10, 32)
		if err != nil {
			return nil
		}
		out = append(out, uint32(v))
	}
	return out
}
