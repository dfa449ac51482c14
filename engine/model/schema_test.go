package model

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The committed Go code in fb/ is what schema/generate.sh makes from schema/udvla.fbs.
func TestGeneratedCodeCurrent(t *testing.T) {
	if _, err := exec.LookPath("flatc"); err != nil {
		t.Skip("flatc is not installed (Debian: flatbuffers-compiler); cannot check engine/model/fb against the schema")
	}
	out := t.TempDir()
	cmd := exec.Command("bash", "schema/generate.sh", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("generate.sh: %v\n%s", err, b)
	}
	gen, _ := filepath.Glob(filepath.Join(out, "fb", "*.go"))
	have, _ := filepath.Glob(filepath.Join("fb", "*.go"))
	if len(gen) == 0 || len(gen) != len(have) {
		t.Fatalf("flatc made %d files, fb/ has %d: run engine/model/schema/generate.sh", len(gen), len(have))
	}
	for _, g := range gen {
		want, _ := os.ReadFile(g)
		got, err := os.ReadFile(filepath.Join("fb", filepath.Base(g)))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("fb/%s differs from the schema's generated code: run engine/model/schema/generate.sh", filepath.Base(g))
		}
	}
}

// The verifier's description of the schema matches the generated accessors: every field has the
// vtable slot, kind and size that the accessor reads.
func TestVerifierSchemaMatchesGenerated(t *testing.T) {
	methodRe := regexp.MustCompile(`(?s)func \(rcv \*(\w+)\) (\w+)\(([^)]*)\)[^{]*\{(.*?)\n\}`)
	offsetRe := regexp.MustCompile(`Offset\((\d+)\)`)
	getRe := regexp.MustCompile(`Get(\w+?)\(`)
	structSize := map[string]int{}
	for _, s := range []string{"Extent", "DataSection"} {
		src, err := os.ReadFile(filepath.Join("fb", s+".go"))
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`builder\.Prep\(\d+, (\d+)\)`).FindSubmatch(src)
		if m == nil {
			t.Fatalf("no struct size in fb/%s.go", s)
		}
		structSize[s], _ = strconv.Atoi(string(m[1]))
	}
	scalarSize := map[string]int{"Int32": 4, "Uint32": 4, "Float64": 8, "Bool": 1, "Byte": 1, "Int64": 8, "Uint64": 8}
	for _, spec := range []*tableSpec{headerSpec, archSpec, vocabSpec, cameraSpec, decodingSpec, fastSpec, tensorSpec} {
		src, err := os.ReadFile(filepath.Join("fb", spec.name+".go"))
		if err != nil {
			t.Fatal(err)
		}
		found := 0
		for _, m := range methodRe.FindAllStringSubmatch(string(src), -1) {
			recv, name, params, body := m[1], m[2], m[3], m[4]
			om := offsetRe.FindStringSubmatch(body)
			if recv != spec.name || om == nil || strings.HasPrefix(name, "Mutate") || strings.HasSuffix(name, "Length") || strings.HasSuffix(name, "Bytes") {
				continue
			}
			vo, _ := strconv.Atoi(om[1])
			slot := (vo - 4) / 2
			if slot >= len(spec.fields) {
				t.Errorf("%s.%s: slot %d beyond the verifier's %d fields", spec.name, name, slot, len(spec.fields))
				continue
			}
			f := spec.fields[slot]
			if strings.ReplaceAll(f.name, "_", "") != strings.ToLower(name) {
				t.Errorf("%s slot %d: generated %s, verifier %s", spec.name, slot, name, f.name)
			}
			found++
			var kind fieldKind
			size := 0
			switch {
			case strings.Contains(body, "Vector(o)") && strings.Contains(body, "Indirect"):
				kind = kTableVector
			case strings.Contains(body, "Vector(o)"):
				kind = kVector
				size = scalarSize[getRe.FindStringSubmatch(body)[1]]
			case strings.Contains(body, "Indirect(o + rcv._tab.Pos)"):
				kind = kTable
			case strings.Contains(body, "ByteVector(o + rcv._tab.Pos)") && params == "":
				kind = kString
			case strings.Contains(body, "x := o + rcv._tab.Pos"):
				kind = kStruct
				size = structSize[strings.TrimPrefix(strings.Fields(params)[1], "*")]
			default:
				g := getRe.FindStringSubmatch(body)
				if g == nil {
					t.Fatalf("%s.%s: unknown accessor\n%s", spec.name, name, body)
				}
				kind, size = kScalar, scalarSize[g[1]]
			}
			if kind != f.kind || (size != 0 && size != f.size) || ((kind == kTable || kind == kTableVector) && f.table == nil) {
				t.Errorf("%s.%s: generated kind %d size %d, verifier kind %d size %d", spec.name, name, kind, size, f.kind, f.size)
			}
		}
		if found != len(spec.fields) {
			t.Errorf("%s: %d accessors checked, the verifier has %d fields", spec.name, found, len(spec.fields))
		}
	}
}
