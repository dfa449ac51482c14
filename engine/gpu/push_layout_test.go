package gpu

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// pushStructs names the Go struct of every shader's push_constant block.
var pushStructs = map[string]any{
	"add":                 addPush{},
	"argmax_ar":           argmaxARPush{},
	"attention":           attentionPush{},
	"attention_scalar":    attentionPush{},
	"attention_flash":     attentionPush{},
	"attention_flash_emu": attentionPush{},
	"attention_flash_nv":  attentionPush{},
	"embed":               embedPush{},
	"matmul":              matmulPush{},
	"matmul_tiled":        matmulPush{},
	"quantize_q8_1":       q81Push{},
	"release_mask":        releaseMaskPush{},
	"rmsnorm":             rmsnormPush{},
	"rope":                ropePush{},
	"sample":              samplePush{},
	"select":              selectPush{},
	"silu_mul":            siluMulPush{},
	"vq_affine":           vqAffinePush{},
	"vq_groupnorm":        vqGroupNormPush{},
	"vq_im2col":           vqIm2colPush{},
	"vq_modulate":         vqModulatePush{},
	"vq_quantize":         vqQuantizePush{},
	"vq_softmax":          vqSoftmaxPush{},
	"vq_transpose":        vqTransposePush{},
}

// glslMember is one member of a push_constant block, at its std430 byte offset; n is its array
// length (0 for a scalar).
type glslMember struct {
	name, typ string
	n         int
	offset    uintptr
}

var (
	pushBlock   = regexp.MustCompile(`(?s)layout\s*\(\s*push_constant\s*\)\s*uniform\s+\w+\s*\{(.*?)\}`)
	lineComment = regexp.MustCompile(`//[^\n]*`)
	blockCmt    = regexp.MustCompile(`(?s)/\*.*?\*/`)
	declaration = regexp.MustCompile(`^(\w+)\s+(\w+(?:\s*,\s*\w+)*)(?:\s*\[\s*(\d+)\s*\])?$`)
	paramsBlock = regexp.MustCompile(`(?s)buffer\s+StepParamsBuffer\s*\{(.*?)\}`)
)

// parsePushBlock reads the members of the push_constant block of a .comp source; ok is false
// when it has none.
func parsePushBlock(t *testing.T, src string) (members []glslMember, ok bool) {
	t.Helper()
	return parseBlock(t, pushBlock, src)
}

// parseBlock reads the members of the block re matches in src (a macro's continuation lines
// included). Only 4-byte scalars and arrays of them are laid out: any other member type is an
// error, so that a block this parser cannot lay out fails the test instead of passing it.
func parseBlock(t *testing.T, re *regexp.Regexp, src string) (members []glslMember, ok bool) {
	t.Helper()
	m := re.FindStringSubmatch(strings.ReplaceAll(src, "\\\n", "\n"))
	if m == nil {
		return nil, false
	}
	body := blockCmt.ReplaceAllString(lineComment.ReplaceAllString(m[1], ""), "")
	var off uintptr
	for _, decl := range strings.Split(body, ";") {
		decl = strings.TrimSpace(decl)
		if decl == "" {
			continue
		}
		d := declaration.FindStringSubmatch(decl)
		if d == nil {
			t.Fatalf("push_constant member %q is not a plain scalar declaration", decl)
		}
		switch d[1] {
		case "uint", "int", "float":
		default:
			t.Fatalf("push_constant member %q: type %s has no layout here (4-byte scalars only)", decl, d[1])
		}
		n := 0
		if d[3] != "" {
			n, _ = strconv.Atoi(d[3])
		}
		for _, name := range strings.Split(d[2], ",") {
			members = append(members, glslMember{strings.TrimSpace(name), d[1], n, off})
			off += 4 * uintptr(max(n, 1))
		}
	}
	return members, true
}

var goScalar = map[reflect.Kind]string{reflect.Uint32: "uint", reflect.Int32: "int", reflect.Float32: "float"}

// checkPushStruct compares a Go push struct with a block's members: same names (up to case),
// GLSL types (and array lengths), order and byte offsets, and the same total size.
func checkPushStruct(typ reflect.Type, members []glslMember) []string {
	var errs []string
	if typ.NumField() != len(members) {
		errs = append(errs, typ.Name()+": "+strconv.Itoa(typ.NumField())+" fields, the block has "+strconv.Itoa(len(members))+" members")
	}
	for i := 0; i < min(typ.NumField(), len(members)); i++ {
		f, m := typ.Field(i), members[i]
		elem, n := f.Type, 0
		if elem.Kind() == reflect.Array {
			elem, n = elem.Elem(), elem.Len()
		}
		switch {
		case !strings.EqualFold(f.Name, m.name):
			errs = append(errs, typ.Name()+"."+f.Name+": the block's member "+strconv.Itoa(i)+" is "+m.name)
		case goScalar[elem.Kind()] != m.typ || elem.Size() != 4 || n != m.n:
			errs = append(errs, typ.Name()+"."+f.Name+": Go "+f.Type.String()+" for GLSL "+m.typ+"["+strconv.Itoa(m.n)+"]")
		case f.Offset != m.offset:
			errs = append(errs, typ.Name()+"."+f.Name+": offset "+strconv.Itoa(int(f.Offset))+", GLSL "+strconv.Itoa(int(m.offset)))
		}
	}
	var size uintptr
	if len(members) > 0 {
		last := members[len(members)-1]
		size = last.offset + 4*uintptr(max(last.n, 1))
	}
	if typ.Size() != size {
		errs = append(errs, typ.Name()+": "+strconv.Itoa(int(typ.Size()))+" bytes, the block "+strconv.Itoa(int(size)))
	}
	return errs
}

// withIncludes reads a .comp source with its #include "x.glsl" lines replaced by the files of
// shaders/include (one level deep: the includes include nothing that holds a block).
func withIncludes(t *testing.T, path string) string {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return includeLine.ReplaceAllStringFunc(string(src), func(line string) string {
		inc, err := os.ReadFile(filepath.Join("../../shaders/include", includeLine.FindStringSubmatch(line)[1]))
		if err != nil {
			t.Fatalf("%s: %s: %v", path, line, err)
		}
		return string(inc)
	})
}

var includeLine = regexp.MustCompile(`(?m)^#include\s+"([^"]+)"`)

// Every shader's push_constant block and its Go struct agree member by member, so a layout
// changed on one side only fails here; every block has a struct and every struct a block.
func TestPushStructsMatchGLSL(t *testing.T) {
	files, err := filepath.Glob("../../shaders/*.comp")
	if err != nil || len(files) == 0 {
		t.Fatalf("no shader sources (%v)", err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".comp")
		members, ok := parsePushBlock(t, withIncludes(t, f))
		st, known := pushStructs[name]
		switch {
		case !ok && known:
			t.Errorf("%s: a Go push struct, but the shader has no push_constant block", name)
		case ok && !known:
			t.Errorf("%s: a push_constant block without a Go struct in pushStructs", name)
		case ok:
			for _, e := range checkPushStruct(reflect.TypeOf(st), members) {
				t.Errorf("%s: %s", name, e)
			}
		}
		seen[name] = true
	}
	for name := range pushStructs {
		if !seen[name] {
			t.Errorf("%s: a Go push struct for a shader that does not exist", name)
		}
	}
}

// The step parameters' record is the StepParamsBuffer block of step_params.glsl, StepParamsSize
// bytes long.
func TestStepParamsRecordMatchesGLSL(t *testing.T) {
	src, err := os.ReadFile("../../shaders/include/step_params.glsl")
	if err != nil {
		t.Fatal(err)
	}
	members, ok := parseBlock(t, paramsBlock, string(src))
	if !ok {
		t.Fatal("no StepParamsBuffer block in step_params.glsl")
	}
	for _, e := range checkPushStruct(reflect.TypeOf(stepParamsRecord{}), members) {
		t.Error(e)
	}
	if n := reflect.TypeOf(stepParamsRecord{}).Size(); n != StepParamsSize {
		t.Errorf("stepParamsRecord is %d bytes, StepParamsSize %d", n, StepParamsSize)
	}
}

// The check catches each kind of disagreement: a member renamed, retyped, reordered, added.
func TestPushStructCheckCatchesDrift(t *testing.T) {
	type push struct {
		N      uint32
		Scale  float32
		MaskID int32
	}
	good := `layout(push_constant) uniform Push {
	uint n; // rows
	float scale;
	int maskId;
} p;`
	members, ok := parsePushBlock(t, good)
	if !ok || len(members) != 3 || members[2].offset != 8 {
		t.Fatalf("parsed %+v", members)
	}
	if errs := checkPushStruct(reflect.TypeOf(push{}), members); len(errs) != 0 {
		t.Fatalf("a matching struct fails: %v", errs)
	}
	for _, bad := range []string{
		strings.Replace(good, "uint n;", "uint rows;", 1),
		strings.Replace(good, "float scale;", "uint scale;", 1),
		strings.Replace(good, "float scale;\n\tint maskId;", "int maskId;\n\tfloat scale;", 1),
		strings.Replace(good, "int maskId;", "int maskId, eoaId;", 1),
		strings.Replace(good, "uint n; // rows\n", "", 1),
		strings.Replace(good, "uint n;", "uint n[2];", 1),
	} {
		members, ok := parsePushBlock(t, bad)
		if !ok {
			t.Fatalf("no block in %q", bad)
		}
		if errs := checkPushStruct(reflect.TypeOf(push{}), members); len(errs) == 0 {
			t.Errorf("drift not caught:\n%s", bad)
		}
	}
	if _, ok := parsePushBlock(t, "void main() {}"); ok {
		t.Error("a block found in a shader without one")
	}
}
