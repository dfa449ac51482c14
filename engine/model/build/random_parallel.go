package build

import (
	"math/bits"
	"math/rand/v2"
	"runtime"
	"sync"
)

// The random weights of a big model take minutes to draw on one core (an 8B model is about 8·10⁹
// values of four PCG draws each). fillParallel splits a chunk across the cores, each part's
// generator jumped ahead to where the sequential stream would be, so the values, and the model
// file, are the same bit for bit as one core's.

// u128 is a 128-bit unsigned integer, the state of rand.PCG.
type u128 struct{ hi, lo uint64 }

func (a u128) mul(b u128) u128 {
	hi, lo := bits.Mul64(a.lo, b.lo)
	return u128{hi + a.hi*b.lo + a.lo*b.hi, lo}
}

func (a u128) add(b u128) u128 {
	lo, c := bits.Add64(a.lo, b.lo, 0)
	hi, _ := bits.Add64(a.hi, b.hi, c)
	return u128{hi, lo}
}

// The LCG of rand.PCG: state = state·pcgMul + pcgInc (math/rand/v2, pcg.go).
var (
	pcgMul = u128{2549297995355413924, 4865540595714422341}
	pcgInc = u128{6364136223846793005, 1442695040888963407}
)

// pcgAdvance moves p n draws ahead in O(log n) (Brown, "Random number generation with arbitrary
// strides", 1994): the n-fold LCG step is again an LCG, of multiplier mul^n.
func pcgAdvance(p *rand.PCG, n uint64) {
	b, _ := p.MarshalBinary() // "pcg:" + hi + lo, big-endian
	st := u128{beUint64(b[4:]), beUint64(b[12:])}
	accMul, accAdd := u128{0, 1}, u128{}
	curMul, curAdd := pcgMul, pcgInc
	for ; n > 0; n >>= 1 {
		if n&1 != 0 {
			accMul, accAdd = accMul.mul(curMul), accAdd.mul(curMul).add(curAdd)
		}
		curAdd = curMul.add(u128{0, 1}).mul(curAdd)
		curMul = curMul.mul(curMul)
	}
	st = accMul.mul(st).add(accAdd)
	putBEUint64(b[4:], st.hi)
	putBEUint64(b[12:], st.lo)
	if err := p.UnmarshalBinary(b); err != nil {
		panic(err) // the encoding came from MarshalBinary
	}
}

func beUint64(b []byte) uint64 {
	var v uint64
	for _, x := range b[:8] {
		v = v<<8 | uint64(x)
	}
	return v
}

func putBEUint64(b []byte, v uint64) {
	for i := 7; i >= 0; i-- {
		b[i], v = byte(v), v>>8
	}
}

// drawsPerValue is the PCG draws randomStream.fill takes per value.
const drawsPerValue = 4

// minParallelFill is the fewest values worth splitting across goroutines.
const minParallelFill = 1 << 16

// fillParallel is fill on all cores, with the same values.
func (s *randomStream) fillParallel(dst []float32) {
	workers := runtime.GOMAXPROCS(0)
	if workers < 2 || len(dst) < minParallelFill {
		s.fill(dst)
		return
	}
	part := (len(dst) + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < len(dst); lo += part {
		hi := min(len(dst), lo+part)
		r := *s.r
		pcgAdvance(&r, drawsPerValue*uint64(lo))
		sub := &randomStream{r: &r, std: s.std, mean: s.mean}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sub.fill(dst[lo:hi])
		}()
	}
	wg.Wait()
	pcgAdvance(s.r, drawsPerValue*uint64(len(dst)))
}
