package build_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// toolingDecls are declarations only the model-file tooling needs: the writer and header encoder,
// the converter and its safetensors reader, the random models and the FAST/layout file readers.
var toolingDecls = []string{"Writer", "NewWriter", "EncodeHeader", "WriteRandom", "WriteRandomHF", "RandomTensor",
	"Convert", "ConvertOptions", "HFTensorName", "LoadFastTokenizer", "LoadNormStats", "ParseLayoutJSON",
	"openCheckpoint", "readHFConfig", "buildHeader"}

// libudvla.so and the engine link the model-file reader and verifier, never the tooling: no
// package they depend on is a tooling package or declares any of the tooling's functions or types.
func TestRuntimeDoesNotLinkTooling(t *testing.T) {
	const module = "github.com/udvla/udvla"
	cmd := exec.Command("go", "list", "-deps", "-json=ImportPath,Dir,GoFiles,CgoFiles", module+"/capi", module+"/engine")
	cmd.Dir = "../../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := 0
	for {
		var p struct {
			ImportPath, Dir   string
			GoFiles, CgoFiles []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(p.ImportPath, module+"/") {
			continue
		}
		seen++
		if strings.HasPrefix(p.ImportPath, module+"/engine/model/build") || strings.Contains(p.ImportPath, "/modeltest") {
			t.Errorf("the runtime links %s", p.ImportPath)
		}
		for _, name := range append(p.GoFiles, p.CgoFiles...) {
			f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(p.Dir, name), nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range f.Decls {
				for _, n := range declNames(d) {
					for _, tool := range toolingDecls {
						if n == tool {
							t.Errorf("%s/%s declares %s, which belongs to the tooling", p.ImportPath, name, n)
						}
					}
				}
			}
		}
	}
	if seen < 5 {
		t.Fatalf("go list named only %d packages of the module", seen)
	}
}

// declNames are the package-level names a declaration introduces (methods excluded).
func declNames(d ast.Decl) []string {
	var names []string
	switch d := d.(type) {
	case *ast.FuncDecl:
		if d.Recv == nil {
			names = append(names, d.Name.Name)
		}
	case *ast.GenDecl:
		for _, s := range d.Specs {
			switch s := s.(type) {
			case *ast.TypeSpec:
				names = append(names, s.Name.Name)
			case *ast.ValueSpec:
				for _, n := range s.Names {
					names = append(names, n.Name)
				}
			}
		}
	}
	return names
}
