//go:build ignore

// gen writes the two camera frames of the tiny model's README job: main.png (37x29) and
// wrist.png (13x11), deterministic pictures at sizes that are not the tiny model's pixel grids
// (10x10 and 6x6), so that a step resizes them. Run from the repository root:
//
//	go run testdata/cameras/gen.go
package main

import (
	"image"
	"image/color"
	"image/png"
	"log"
	"os"
)

func main() {
	write("testdata/cameras/main.png", 37, 29, 0)
	write("testdata/cameras/wrist.png", 13, 11, 1)
}

// write draws a gradient background with a disc and a bar (a table, an object, a gripper).
func write(path string, w, h, variant int) {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	cx, cy, r := w/3+variant, h/2, h/4+1
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.NRGBA{uint8(40 + 180*x/w), uint8(60 + 150*y/h), uint8(200 - 120*(x+y)/(w+h)), 255}
			if dx, dy := x-cx, y-cy; dx*dx+dy*dy <= r*r {
				c = color.NRGBA{220, 40 + uint8(30*variant), 30, 255}
			}
			if x >= 2*w/3 && x < 2*w/3+w/8+1 && y > h/5 {
				c = color.NRGBA{30, 30, 35, 255}
			}
			img.Set(x, y, c)
		}
	}
	fd, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	if err := png.Encode(fd, img); err != nil {
		log.Fatal(err)
	}
	if err := fd.Close(); err != nil {
		log.Fatal(err)
	}
}
