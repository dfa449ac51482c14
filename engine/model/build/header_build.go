package build

import (
	"encoding/binary"
	"fmt"

	flatbuffers "github.com/google/flatbuffers/go"
	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/model/fb"
)

// EncodeHeader returns the size-prefixed FlatBuffer of a header. Its length depends only on cfg and
// on the names and shapes of dir, never on extents or dtypes (those are structs), which lets the
// writer reserve the header before the tensors are written.
func EncodeHeader(cfg *model.Config, dir []model.TensorInfo, dataOffset, dataSize uint64) []byte {
	b := flatbuffers.NewBuilder(1 << 12)

	// Children first: FlatBuffers are built back to front.
	tensors := make([]flatbuffers.UOffsetT, len(dir))
	for i := len(dir) - 1; i >= 0; i-- {
		t := dir[i]
		name := b.CreateString(t.Name)
		fb.TensorStartShapeVector(b, len(t.Shape))
		for j := len(t.Shape) - 1; j >= 0; j-- {
			b.PrependInt64(int64(t.Shape[j]))
		}
		shape := b.EndVector(len(t.Shape))
		fb.TensorStart(b)
		fb.TensorAddName(b, name)
		fb.TensorAddShape(b, shape)
		fb.TensorAddExtent(b, fb.CreateExtent(b, uint64(t.Offset), uint64(t.Length), t.CRC32C, fb.DType(t.DType)))
		tensors[i] = fb.TensorEnd(b)
	}
	fb.HeaderStartTensorsVector(b, len(tensors))
	for i := len(tensors) - 1; i >= 0; i-- {
		b.PrependUOffsetT(tensors[i])
	}
	tensorVec := b.EndVector(len(tensors))

	var textBPE flatbuffers.UOffsetT
	if len(cfg.TextBPE) > 0 {
		textBPE = b.CreateByteVector(cfg.TextBPE)
	}
	var vocab, decoding, fast flatbuffers.UOffsetT
	if cfg.Vocab != nil {
		vocab = buildVocab(b, cfg.Vocab)
	}
	if cfg.Decoding != nil {
		decoding = buildDecoding(b, cfg.Decoding)
	}
	if cfg.Fast != nil {
		fast = buildFast(b, cfg.Fast)
	}
	var arch, vq flatbuffers.UOffsetT
	if cfg.HasLM() {
		arch = buildArch(b, cfg.Arch)
	}
	if cfg.VQ != nil {
		vq = buildVQ(b, cfg.VQ)
	}

	fb.HeaderStart(b)
	fb.HeaderAddVersion(b, model.FormatVersion)
	if arch != 0 {
		fb.HeaderAddArch(b, arch)
	}
	if vocab != 0 {
		fb.HeaderAddVocab(b, vocab)
	}
	if decoding != 0 {
		fb.HeaderAddDecoding(b, decoding)
	}
	if fast != 0 {
		fb.HeaderAddFast(b, fast)
	}
	if textBPE != 0 {
		fb.HeaderAddTextBpe(b, textBPE)
	}
	fb.HeaderAddTensors(b, tensorVec)
	fb.HeaderAddData(b, fb.CreateDataSection(b, dataOffset, dataSize))
	if vq != 0 {
		fb.HeaderAddVq(b, vq)
	}
	b.FinishSizePrefixedWithFileIdentifier(fb.HeaderEnd(b), []byte(model.FileIdentifier))
	return b.FinishedBytes()
}

func buildArch(b *flatbuffers.Builder, a model.Arch) flatbuffers.UOffsetT {
	fb.ArchStart(b)
	fb.ArchAddLayers(b, int32(a.Layers))
	fb.ArchAddHidden(b, int32(a.Hidden))
	fb.ArchAddHeads(b, int32(a.Heads))
	fb.ArchAddKvHeads(b, int32(a.KVHeads))
	fb.ArchAddHeadDim(b, int32(a.HeadDim))
	fb.ArchAddFfn(b, int32(a.FFN))
	fb.ArchAddVocab(b, int32(a.Vocab))
	fb.ArchAddRopeTheta(b, a.RopeTheta)
	fb.ArchAddRmsEps(b, a.RMSEps)
	return fb.ArchEnd(b)
}

func int32Vector(b *flatbuffers.Builder, v []int32) flatbuffers.UOffsetT {
	b.StartVector(4, len(v), 4)
	for i := len(v) - 1; i >= 0; i-- {
		b.PrependInt32(v[i])
	}
	return b.EndVector(len(v))
}

func float64Vector(b *flatbuffers.Builder, v []float64) flatbuffers.UOffsetT {
	b.StartVector(8, len(v), 8)
	for i := len(v) - 1; i >= 0; i-- {
		b.PrependFloat64(v[i])
	}
	return b.EndVector(len(v))
}

func buildVocab(b *flatbuffers.Builder, v *model.Vocab) flatbuffers.UOffsetT {
	digits := int32Vector(b, v.Digits[:])
	var headerIDs flatbuffers.UOffsetT
	if len(v.HeaderIDs) > 0 {
		headerIDs = int32Vector(b, v.HeaderIDs)
	}
	fb.VocabStart(b)
	fb.VocabAddTextSize(b, v.TextSize)
	fb.VocabAddPad(b, v.Pad)
	fb.VocabAddBoa(b, v.BOA)
	fb.VocabAddEoa(b, v.EOA)
	fb.VocabAddEol(b, v.EOL)
	fb.VocabAddEof(b, v.EOF)
	fb.VocabAddMask(b, v.Mask)
	fb.VocabAddBos(b, v.BOS)
	fb.VocabAddEos(b, v.EOS)
	fb.VocabAddImg(b, v.IMG)
	fb.VocabAddBoi(b, v.BOI)
	fb.VocabAddEoi(b, v.EOI)
	fb.VocabAddVisualOffset(b, v.VisualOffset)
	fb.VocabAddCodebookSize(b, v.CodebookSize)
	fb.VocabAddFastBase(b, v.FastBase)
	fb.VocabAddFastSize(b, v.FastSize)
	fb.VocabAddFastReversed(b, v.FastReversed)
	fb.VocabAddDigits(b, digits)
	fb.VocabAddStar(b, v.Star)
	if headerIDs != 0 {
		fb.VocabAddHeaderIds(b, headerIDs)
	}
	return fb.VocabEnd(b)
}

func buildDecoding(b *flatbuffers.Builder, d *model.Decoding) flatbuffers.UOffsetT {
	cams := make([]flatbuffers.UOffsetT, len(d.Cameras))
	for i, c := range d.Cameras {
		name := b.CreateString(c.Name)
		fb.CameraStart(b)
		fb.CameraAddName(b, name)
		fb.CameraAddH(b, int32(c.H))
		fb.CameraAddW(b, int32(c.W))
		cams[i] = fb.CameraEnd(b)
	}
	var preset flatbuffers.UOffsetT
	if d.Preset != "" {
		preset = b.CreateString(d.Preset)
	}
	fb.DecodingStartCamerasVector(b, len(cams))
	for i := len(cams) - 1; i >= 0; i-- {
		b.PrependUOffsetT(cams[i])
	}
	camVec := b.EndVector(len(cams))
	fb.DecodingStart(b)
	fb.DecodingAddSteps(b, int32(d.Steps))
	fb.DecodingAddActionLen(b, int32(d.ActionLen))
	fb.DecodingAddCameras(b, camVec)
	fb.DecodingAddMask(b, maskToFile(d.Mask))
	if preset != 0 {
		fb.DecodingAddPreset(b, preset)
	}
	return fb.DecodingEnd(b)
}

func buildFast(b *flatbuffers.Builder, f *model.Fast) flatbuffers.UOffsetT {
	var tok, q01, q99 flatbuffers.UOffsetT
	if len(f.TokenizerJSON) > 0 {
		tok = b.CreateByteVector(f.TokenizerJSON)
	}
	if len(f.Q01) > 0 {
		q01 = float64Vector(b, f.Q01)
	}
	if len(f.Q99) > 0 {
		q99 = float64Vector(b, f.Q99)
	}
	fb.FastStart(b)
	if tok != 0 {
		fb.FastAddTokenizerJson(b, tok)
	}
	fb.FastAddScale(b, f.Scale)
	fb.FastAddMinToken(b, f.MinToken)
	fb.FastAddHorizon(b, int32(f.Horizon))
	fb.FastAddDims(b, int32(f.Dims))
	if q01 != 0 {
		fb.FastAddQ01(b, q01)
	}
	if q99 != 0 {
		fb.FastAddQ99(b, q99)
	}
	if f.CleanUpSpaces {
		fb.FastAddCleanUpSpaces(b, true)
	}
	fb.FastAddGripperThreshold(b, f.GripperThreshold)
	return fb.FastEnd(b)
}

// FilePrefix returns everything before the data section: the header, its CRC-32C and zeros up to
// dataOffset, which must be the header's own declared data offset.
func FilePrefix(header []byte, dataOffset int64) ([]byte, error) {
	if want := model.AlignUp(int64(len(header)) + 4); dataOffset != want {
		return nil, fmt.Errorf("internal: data offset %d for a header of %d bytes, want %d", dataOffset, len(header), want)
	}
	out := make([]byte, dataOffset)
	copy(out, header)
	binary.LittleEndian.PutUint32(out[len(header):], model.Checksum(header))
	return out, nil
}

// maskToFile is the inverse of maskFromFile. Validation refuses the rules a file cannot record
// (MaskDefault, unknown values) before a header is built; only crafted test files carry them.
func maskToFile(m model.MaskRule) fb.MaskRule {
	switch m {
	case model.MaskPaper:
		return fb.MaskRulePaper
	case model.MaskRelease:
		return fb.MaskRuleRelease
	case model.MaskCausal:
		return fb.MaskRuleCausal
	}
	if m > model.MaskCausal && m <= model.MaskCausal+256 {
		return fb.MaskRule(m - model.MaskCausal - 1)
	}
	return 255
}
