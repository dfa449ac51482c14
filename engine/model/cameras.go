package model

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseCameras reads a camera list written as "main:25x25,wrist:10x10" (name:HxW, in sequence
// order).
func ParseCameras(s string) ([]Camera, error) {
	var out []Camera
	for _, part := range strings.Split(s, ",") {
		name, grid, ok := strings.Cut(strings.TrimSpace(part), ":")
		hs, ws, ok2 := strings.Cut(grid, "x")
		h, err1 := strconv.Atoi(hs)
		w, err2 := strconv.Atoi(ws)
		if !ok || !ok2 || name == "" || err1 != nil || err2 != nil || h <= 0 || w <= 0 {
			return nil, fmt.Errorf("camera %q: want name:HxW, e.g. main:25x25", part)
		}
		out = append(out, Camera{Name: name, H: h, W: w})
	}
	return out, nil
}

// FormatCameras is the inverse of ParseCameras.
func FormatCameras(cams []Camera) string {
	parts := make([]string, len(cams))
	for i, c := range cams {
		parts[i] = fmt.Sprintf("%s:%dx%d", c.Name, c.H, c.W)
	}
	return strings.Join(parts, ",")
}
