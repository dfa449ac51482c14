package main

import (
	"encoding/binary"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/udvla/udvla/engine"
	"github.com/udvla/udvla/engine/model"
)

// The fuzz inputs lay a request out as the C struct udvla_request on a 64-bit platform: these are
// its field offsets (checked against cgo's sizeof). A pointer field that is zero is NULL; any
// other value makes the harness point it at memory built from the payload, sized exactly as the
// lengths claim wherever the decoder may read it.
const (
	offStructSize = 0
	offMode       = 4
	offInstr      = 8
	offInstrLen   = 16
	offText       = 24
	offCodes      = 32
	offCounts     = 40
	offNumCameras = 48
	offSeed       = 56
	offSteps      = 64
	offMask       = 68
	offNoCache    = 72
	offReserved   = 76
	offBudget     = 80 // the appended fields, read only with a struct_size that holds them
	offActionStep = 88
	offReserved3  = 92
	offFrames     = 96 // appended again; the harness leaves frames NULL
	offDecodeFut  = 104
	offReserved4  = 108
	requestBytes  = 112
)

// Lengths the harness backs with real memory; beyond them the decoder must refuse before reading
// (the tiny model takes at most 128 instruction tokens, 2 cameras and 25 codes per camera).
const (
	maxBackedTokens  = 4096
	maxBackedCameras = 16
)

// payload hands out the fuzzer's bytes in order, zeros once they run out.
type payload struct{ b []byte }

func (p *payload) byte() byte {
	if len(p.b) == 0 {
		return 0
	}
	c := p.b[0]
	p.b = p.b[1:]
	return c
}

// int32 is a little-endian int16 widened, so that in-range ids and codes are near.
func (p *payload) int32() int32 { return int32(int16(uint16(p.byte()) | uint16(p.byte())<<8)) }

// int32s has room for one more element, so that even an empty one has a non-nil address.
func (p *payload) int32s(n int) []int32 {
	s := make([]int32, n, n+1)
	for i := range s {
		s[i] = p.int32()
	}
	return s
}

// le reads field bytes of the request layout, zero past the input's end.
func le(b []byte, off, size int) uint64 {
	var buf [8]byte
	if off < len(b) {
		copy(buf[:size], b[off:min(len(b), off+size)])
	}
	return binary.LittleEndian.Uint64(buf[:])
}

// backing is the memory a harness request points into, kept for the checks.
type backing struct {
	instr  []int32
	text   []byte
	ptrs   []unsafe.Pointer
	counts []uint
	codes  [][]int32
}

// buildRequest turns the struct bytes and the payload into a cRequest and the memory it points to.
func buildRequest(raw []byte, p *payload) (cRequest, *backing) {
	r := cRequest{
		structSize:     uint32(le(raw, offStructSize, 4)),
		mode:           int32(le(raw, offMode, 4)),
		instructionLen: le(raw, offInstrLen, 8),
		numCameras:     le(raw, offNumCameras, 8),
		seed:           le(raw, offSeed, 8),
		steps:          int32(le(raw, offSteps, 4)),
		mask:           int32(le(raw, offMask, 4)),
		noCache:        int32(le(raw, offNoCache, 4)),
		reserved:       int32(le(raw, offReserved, 4)),
	}
	if r.structSize == sizeofRequest || uintptr(r.structSize) == requestSizeFrames {
		r.budgetUS, r.actionSteps, r.reserved3 = le(raw, offBudget, 8), int32(le(raw, offActionStep, 4)), int32(le(raw, offReserved3, 4))
	}
	if r.structSize == sizeofRequest {
		r.decodeFuture, r.reserved4 = int32(le(raw, offDecodeFut, 4)), int32(le(raw, offReserved4, 4))
	}
	bk := &backing{}
	if le(raw, offInstr, 8) != 0 {
		n := 16
		if r.instructionLen <= maxBackedTokens {
			n = int(r.instructionLen)
		}
		bk.instr = p.int32s(n)
		r.instruction = unsafe.Pointer(unsafe.SliceData(bk.instr))
	}
	if le(raw, offText, 8) != 0 {
		for c := p.byte(); c != 0 && len(bk.text) < 64; c = p.byte() {
			bk.text = append(bk.text, c)
		}
		r.instructionText = unsafe.Pointer(unsafe.SliceData(append(slices.Clone(bk.text), 0)))
	}
	cams := 2
	if r.numCameras <= maxBackedCameras {
		cams = int(r.numCameras)
	}
	if le(raw, offCounts, 8) != 0 {
		bk.counts = make([]uint, cams, cams+1)
		for c := range bk.counts {
			bk.counts[c] = uint(p.byte()) // 0..255 covers every grid of the tiny model
			if p.byte() == 0xff {
				bk.counts[c] = ^uint(0)
			}
		}
		r.codeCounts = unsafe.Pointer(unsafe.SliceData(bk.counts))
	}
	if le(raw, offCodes, 8) != 0 {
		bk.ptrs = make([]unsafe.Pointer, cams, cams+1)
		bk.codes = make([][]int32, cams)
		for c := range bk.ptrs {
			if p.byte() == 0 { // a NULL camera pointer
				continue
			}
			n := 16
			if c < len(bk.counts) && bk.counts[c] <= maxBackedTokens {
				n = int(bk.counts[c])
			}
			bk.codes[c] = p.int32s(n)
			bk.ptrs[c] = unsafe.Pointer(unsafe.SliceData(bk.codes[c]))
		}
		r.codes = unsafe.Pointer(unsafe.SliceData(bk.ptrs))
	}
	return r, bk
}

// fuzzModel is the tiny model's description as udvla_open would make it.
func fuzzModel(tb testing.TB) *modelInfo {
	f, err := model.Open("../testdata/tiny.udvla")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	return describeConfig(&f.Config, engine.Options{MaxInstruction: 128}, "fuzz")
}

// validRequest is a request the tiny model accepts, as struct bytes and payload.
func validRequest(mi *modelInfo) (raw, pay []byte) {
	raw = make([]byte, requestBytes)
	put := func(off int, v uint64, size int) {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], v)
		copy(raw[off:off+size], b[:size])
	}
	put(offStructSize, sizeofRequest, 4)
	put(offInstr, 1, 8)
	put(offInstrLen, 3, 8)
	put(offCodes, 1, 8)
	put(offCounts, 1, 8)
	put(offNumCameras, uint64(len(mi.decoding.Cameras)), 8)
	put(offSeed, 7, 8)
	put(offSteps, 2, 4)
	for _, id := range []int{5, 6, 7} {
		pay = append(pay, byte(id), 0)
	}
	for _, c := range mi.decoding.Cameras {
		pay = append(pay, byte(c.H*c.W), 0)
	}
	for _, c := range mi.decoding.Cameras {
		pay = append(pay, 1)
		for i := 0; i < c.H*c.W; i++ {
			pay = append(pay, byte(i), 0)
		}
	}
	return raw, pay
}

// resultBytes lays out the four buffers as a flag byte (non-NULL) and a capacity each.
func resultBytes(caps [4]uint64, nonNull [4]bool) []byte {
	b := make([]byte, 0, 36)
	for i := range caps {
		f := byte(0)
		if nonNull[i] {
			f = 1
		}
		b = append(b, f)
		b = binary.LittleEndian.AppendUint64(b, caps[i])
	}
	return b
}

// FuzzDecodeRequest decodes requests laid out as the C struct, and checks the caller's four
// output buffers, as udvla_step does: it must never panic or read past what the lengths claim, a
// refusal must carry a documented status and a one-line message naming the function, and an
// accepted request must be the caller's data, copied and in range. Outputs are written up to
// min(capacity, size), SIZE_MAX capacities included.
func FuzzDecodeRequest(f *testing.F) {
	if sizeofRequest != requestBytes {
		f.Skipf("udvla_request is %d bytes here; the fuzz layout is the 64-bit one", sizeofRequest)
	}
	mi := fuzzModel(f)
	raw, pay := validRequest(mi)
	need := mi.sizes
	exact := [4]uint64{uint64(need.region), uint64(need.future), uint64(need.tokens), uint64(need.actions)}
	all := [4]bool{true, true, true, true}
	f.Add(raw, resultBytes(exact, all), pay, byte(0))
	f.Add(raw, resultBytes([4]uint64{^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0)}, all), pay, byte(1))
	f.Add(raw, resultBytes([4]uint64{}, [4]bool{}), pay, byte(2))
	f.Add(raw[:40], resultBytes([4]uint64{1, 0, 3, 0}, [4]bool{true, false, false, true}), pay[:9], byte(3))
	f.Add(raw, resultBytes(exact, all), pay, byte(4))

	f.Fuzz(func(t *testing.T, raw, res, pay []byte, flags byte) {
		info := *mi
		info.hasText = flags&1 != 0
		if flags&4 != 0 { // a plain Llama checkpoint: no layout, every request UNSUPPORTED
			info.vocab, info.decoding = nil, nil
		}
		p := &payload{b: pay}
		r, bk := buildRequest(raw, p)
		fn := "udvla_step"
		if flags&2 != 0 {
			fn = "udvla_step_alloc"
		}
		req, err := decodeRequest(fn, r, &info)
		if info.vocab == nil && err == nil {
			t.Fatal("a model without a layout accepted a request")
		}
		if err != nil {
			checkRefusal(t, fn, err)
		} else {
			checkAccepted(t, r, bk, req, &info)
		}
		checkOutputBuffers(t, res, info.sizes)
	})
}

func checkRefusal(t *testing.T, fn string, err error) {
	switch st := statusOf(err); st {
	case statusStructSize, statusInvalidArgument, statusOutOfRange, statusNullPointer, statusUnsupported:
	default:
		t.Fatalf("status %d for %v", st, err)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, fn+": ") || strings.Contains(msg, "\n") {
		t.Fatalf("message %q: want one line starting %q", msg, fn+": ")
	}
}

func checkAccepted(t *testing.T, r cRequest, bk *backing, req *engine.Request, mi *modelInfo) {
	if (r.structSize != sizeofRequest && uintptr(r.structSize) != requestSizeABI1 && uintptr(r.structSize) != requestSizeFrames) ||
		r.reserved != 0 || r.reserved3 != 0 || r.reserved4 != 0 || (r.decodeFuture != 0 && !mi.hasVQ) ||
		r.steps < 0 || r.steps > maxSteps || r.actionSteps < 0 || r.actionSteps > maxSteps || r.budgetUS > maxBudgetUS {
		t.Fatalf("accepted a bad request: %+v", r)
	}
	if r.mode < modeJD3P || r.mode > modeAR || r.mask < maskDefOld || r.mask > maskReleaseKV || r.mask == 3 { // 3 is UDVLA_MASK_CAUSAL, reported only
		t.Fatalf("accepted mode %d, mask %d", r.mode, r.mask)
	}
	if req.Mask.Resolve(mi.decoding) == model.MaskCausal && req.Mode != engine.ModeAR && req.Mode != engine.ModeARRestricted {
		t.Fatalf("accepted mode %d under the model's causal rule", r.mode)
	}
	if r.instructionLen > uint64(len(bk.instr)) || r.instructionLen > uint64(mi.maxInstruction) {
		t.Fatalf("accepted instruction_len %d with %d tokens behind it (max %d)", r.instructionLen, len(bk.instr), mi.maxInstruction)
	}
	if r.instructionLen > 0 && !slices.Equal(req.Instruction, bk.instr[:r.instructionLen]) {
		t.Fatalf("instruction %v, the caller's %v", req.Instruction, bk.instr[:r.instructionLen])
	}
	for _, id := range req.Instruction {
		if id < 0 || id >= mi.vocab.TextSize {
			t.Fatalf("accepted instruction id %d", id)
		}
	}
	if r.instructionLen == 0 && req.InstructionText != string(bk.text) {
		t.Fatalf("instruction text %q, the caller's %q", req.InstructionText, bk.text)
	}
	cams := mi.decoding.Cameras
	if r.numCameras != uint64(len(cams)) || len(req.Codes) != len(cams) {
		t.Fatalf("accepted %d cameras (%d decoded), the model has %d", r.numCameras, len(req.Codes), len(cams))
	}
	for c, codes := range req.Codes {
		if !slices.Equal(codes, bk.codes[c]) || len(codes) != cams[c].H*cams[c].W {
			t.Fatalf("camera %d: codes %v, the caller's %v", c, codes, bk.codes[c])
		}
		for _, code := range codes {
			if code < 0 || code >= mi.vocab.CodebookSize {
				t.Fatalf("accepted code %d", code)
			}
		}
	}
	// the request owns its data: changing the caller's memory afterwards changes nothing
	if len(bk.instr) > 0 && len(req.Instruction) > 0 {
		bk.instr[0] = -99
		if req.Instruction[0] == -99 {
			t.Fatal("the request aliases the caller's instruction")
		}
	}
}

// guard fills the elements past a buffer's capacity; none may change.
const guard = 4

func checkOutputBuffers(t *testing.T, res []byte, need resultSizes) {
	needs := [4]int{need.region, need.future, need.tokens, need.actions}
	var bufs [4]output
	var mem [4][]int32
	for i, name := range []string{"region", "future_codes", "action_tokens", "actions"} {
		nonNull := le(res, 9*i, 1) != 0
		bufs[i] = output{name: name, cap: le(res, 9*i+1, 8)}
		if nonNull {
			n := int(min(bufs[i].cap, uint64(needs[i]+guard)))
			mem[i] = make([]int32, n+guard)
			for j := range mem[i] {
				mem[i][j] = -7
			}
			bufs[i].ptr = unsafe.Pointer(unsafe.SliceData(mem[i]))
		}
	}
	err := checkOutputs(bufs, need)
	var want status
	for i, b := range bufs {
		if b.ptr == nil && b.cap != 0 {
			want = statusNullPointer
			break
		}
		if want == statusOK && b.ptr != nil && b.cap < uint64(needs[i]) {
			want = statusBufferTooSmall
		}
	}
	if st := statusOf(err); st != want {
		t.Fatalf("checkOutputs: status %d (%v), want %d", st, err, want)
	}
	// copyOut writes min(capacity, len(src)) elements whether or not the check passed
	for i, b := range bufs {
		if b.ptr == nil {
			continue
		}
		src := make([]int32, needs[i])
		for j := range src {
			src[j] = int32(j + 1)
		}
		copyOut(b, src)
		n := int(min(b.cap, uint64(len(src))))
		if !slices.Equal(mem[i][:n], src[:n]) {
			t.Fatalf("%s: wrote %v, want %v", b.name, mem[i][:n], src[:n])
		}
		for j := n; j < len(mem[i]); j++ {
			if mem[i][j] != -7 {
				t.Fatalf("%s (capacity %d, %d written): element %d changed", b.name, b.cap, len(src), j)
			}
		}
	}
}

// The fuzz target's seeds reach the decoder's success path, and the outputs' with every capacity
// SIZE_MAX.
func TestDecodeSeedsAccepted(t *testing.T) {
	mi := fuzzModel(t)
	raw, pay := validRequest(mi)
	r, bk := buildRequest(raw, &payload{b: pay})
	req, err := decodeRequest("udvla_step", r, mi)
	if err != nil {
		t.Fatal(err)
	}
	checkAccepted(t, r, bk, req, mi)
	if len(req.Instruction) != 3 || len(req.Codes) != len(mi.decoding.Cameras) || req.Steps != 2 {
		t.Errorf("decoded %+v", req)
	}
	sizeMax := ^uint64(0)
	checkOutputBuffers(t, resultBytes([4]uint64{sizeMax, sizeMax, sizeMax, sizeMax}, [4]bool{true, true, true, true}), mi.sizes)
}
