package model

import (
	"fmt"
	"slices"
	"strings"
)

// Preset is the decoding setup of one benchmark as the release runs it (spec §3, §5, §6): what a
// model file records so that a converted checkpoint decodes as it was evaluated.
type Preset struct {
	Name      string
	Cameras   []Camera // token grids in sequence order
	ActionLen int      // L_a: BOA and L_a-1 action slots
	Steps     int      // T, the denoising steps
	Horizon   int      // action steps in a chunk
	Dims      int      // action dimensions
	// HeaderChars are the characters whose text ids image positions may take besides visual ids,
	// IMG and EOF: the release's allowed lists, which are wider than the size headers need
	// (LIBERO adds the digits 3 and 4, Bridge allows 0-6).
	HeaderChars string
	// FastDir and NormStats name the FAST tokenizer directory and the norm-stats file, relative
	// to the directory of FAST data (testdata/fast in the repository).
	FastDir, NormStats string
	FastSize           int32 // the FAST tokenizer's ids (its vocab_size)
	// GripperThreshold binarises the gripper: +1 above it, -1 otherwise (Fast.GripperThreshold).
	GripperThreshold float64
}

var (
	calvinCameras = []Camera{{Name: "main", H: 25, W: 25}, {Name: "wrist", H: 10, W: 10}}
	presets       = []Preset{
		{Name: "calvin", Cameras: calvinCameras, ActionLen: 70, Steps: 72, Horizon: 10, Dims: 7, HeaderChars: "*0125",
			FastDir: "fast_calvin_norm_a10_s50", NormStats: "norm_stats_calvin.json", FastSize: 1024, GripperThreshold: 0},
		{Name: "libero", Cameras: calvinCameras, ActionLen: 70, Steps: 72, Horizon: 10, Dims: 7, HeaderChars: "*012345",
			FastDir: "fast", NormStats: "norm_stats_libero.json", FastSize: 2048, GripperThreshold: 0},
		{Name: "bridge", Cameras: []Camera{{Name: "main", H: 25, W: 25}}, ActionLen: 72, Steps: 96, Horizon: 10, Dims: 7,
			HeaderChars: "*0123456", FastDir: "fast_bridge_t5_s50", NormStats: "norm_stats_bridge.json", FastSize: 1024, GripperThreshold: 0.5},
	}
)

// PresetNames lists the presets: calvin, libero, bridge.
func PresetNames() []string {
	out := make([]string, len(presets))
	for i, p := range presets {
		out[i] = p.Name
	}
	return out
}

// PresetByName returns a copy of the named preset, or nil.
func PresetByName(name string) *Preset {
	for _, p := range presets {
		if p.Name == name {
			c := p
			c.Cameras = append([]Camera(nil), p.Cameras...)
			return &c
		}
	}
	return nil
}

// HeaderIDs maps HeaderChars to the layout's text ids ('*' and the digits), sorted.
func (p *Preset) HeaderIDs(v *Vocab) ([]int32, error) {
	var out []int32
	for _, c := range p.HeaderChars {
		switch {
		case c == '*':
			out = append(out, v.Star)
		case c >= '0' && c <= '9':
			out = append(out, v.Digits[c-'0'])
		default:
			return nil, fmt.Errorf("preset %s: header character %q", p.Name, c)
		}
	}
	slices.Sort(out)
	return out, nil
}

// Decoding returns the preset's decoding defaults under a mask rule.
func (p *Preset) Decoding(rule MaskRule) *Decoding {
	return &Decoding{Steps: p.Steps, ActionLen: p.ActionLen, Cameras: append([]Camera(nil), p.Cameras...), Mask: rule, Preset: p.Name}
}

// String is a one-line summary, as `udvla inspect` shows it.
func (p *Preset) String() string {
	cams := make([]string, len(p.Cameras))
	for i, c := range p.Cameras {
		cams[i] = fmt.Sprintf("%s %dx%d", c.Name, c.H, c.W)
	}
	return fmt.Sprintf("%s: cameras %s, L_a %d, T %d, actions %dx%d, header chars %q, gripper > %g -> +1",
		p.Name, strings.Join(cams, ", "), p.ActionLen, p.Steps, p.Horizon, p.Dims, p.HeaderChars, p.GripperThreshold)
}
