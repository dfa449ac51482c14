package engine

import (
	"fmt"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/ref"
	"github.com/udvla/udvla/engine/vision"
	"github.com/udvla/udvla/engine/vk"
)

// vulkanDevice is what the Vulkan backend offers the vision tokenizer: its device.
type vulkanDevice interface {
	Device() *vk.Device
}

// openCodec makes the vision tokenizer for the engine's backend: on the Vulkan backend's device,
// or the float64 reference beside the CPU reference.
func (e *Engine) openCodec() (frameCodec, error) {
	switch be := e.be.(type) {
	case vulkanDevice:
		return &vkCodec{dev: be.Device(), f: e.file}, nil
	case *refBackend:
		m, err := ref.NewVQ(e.file.Config.VQ, e.file.Float32)
		if err != nil {
			return nil, err
		}
		return &refCodec{m: m}, nil
	}
	return nil, fmt.Errorf("the %s backend runs no vision tokenizer", e.be.Name())
}

// vkCodec is the vision tokenizer on the engine's Vulkan device. The encoder and the decoder are
// uploaded at their first use: a controller that never asks for future frames never holds the
// decoder.
type vkCodec struct {
	dev *vk.Device
	f   *model.File
	enc *vision.Encoder
	dec *vision.Decoder
}

func (c *vkCodec) encode(px []float32, h, w int) ([]int32, error) {
	if c.enc == nil {
		enc, err := vision.NewEncoder(c.dev, c.f.Config.VQ, c.f.Float32)
		if err != nil {
			return nil, err
		}
		c.enc = enc
	}
	return c.enc.Encode(px, h, w)
}

func (c *vkCodec) decode(codes []int32, gh, gw int) ([]byte, error) {
	if c.dec == nil {
		dec, err := vision.NewDecoder(c.dev, c.f.Config.VQ, c.f.Float32)
		if err != nil {
			return nil, err
		}
		c.dec = dec
	}
	px, err := c.dec.Decode(codes, gh, gw)
	if err != nil {
		return nil, err
	}
	f := c.f.Config.VQ.SpatialFactor()
	m, err := ref.MapFromFloat32(px, 3, gh*f, gw*f)
	if err != nil {
		return nil, err
	}
	return ref.ToRGB8(m)
}

func (c *vkCodec) close() {
	if c.enc != nil {
		c.enc.Close()
	}
	if c.dec != nil {
		c.dec.Close()
	}
	c.enc, c.dec = nil, nil
}

// refCodec is the float64 reference of the vision tokenizer, for the reference backend.
type refCodec struct{ m *ref.VQ }

func (c *refCodec) encode(px []float32, h, w int) ([]int32, error) {
	codes, _, err := c.m.Encode(px, h, w)
	return codes, err
}

func (c *refCodec) decode(codes []int32, gh, gw int) ([]byte, error) {
	m, err := c.m.Decode(codes, gh, gw)
	if err != nil {
		return nil, err
	}
	return ref.ToRGB8(m)
}

func (c *refCodec) close() {}
