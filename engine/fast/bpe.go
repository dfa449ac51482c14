package fast

import "container/heap"

// symbol is one node of the doubly linked word that merges shrink; size 0 marks a merged-away
// right neighbour.
type symbol struct {
	id         int32
	prev, next int
	size       int
}

type mergeCand struct {
	pos      int
	rank, id int32
}

// candQueue pops the lowest rank first, the leftmost position among equal ranks.
type candQueue []mergeCand

func (q candQueue) Len() int { return len(q) }
func (q candQueue) Less(i, j int) bool {
	if q[i].rank != q[j].rank {
		return q[i].rank < q[j].rank
	}
	return q[i].pos < q[j].pos
}
func (q candQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *candQueue) Push(x any)   { *q = append(*q, x.(mergeCand)) }
func (q *candQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// mergeAll applies the BPE merges to a word of symbol ids exactly as HF tokenizers'
// Word::merge_all does without dropout: a priority queue of (rank, position) candidates, stale
// entries recognised by the id the pair would merge into, new candidates pushed on both sides of
// each merge.
func (t *Tokenizer) mergeAll(ids []int32) []int32 {
	syms := make([]symbol, len(ids))
	for i, id := range ids {
		syms[i] = symbol{id: id, prev: i - 1, next: i + 1, size: 1}
	}
	if len(syms) > 0 {
		syms[len(syms)-1].next = -1
	}
	q := candQueue{}
	for i := 0; i+1 < len(syms); i++ {
		if m, ok := t.merges[[2]int32{syms[i].id, syms[i+1].id}]; ok {
			q = append(q, mergeCand{i, m.rank, m.id})
		}
	}
	heap.Init(&q)
	for q.Len() > 0 {
		top := heap.Pop(&q).(mergeCand)
		cur := &syms[top.pos]
		if cur.size == 0 || cur.next == -1 {
			continue
		}
		right := syms[cur.next]
		if m, ok := t.merges[[2]int32{cur.id, right.id}]; !ok || m.id != top.id {
			continue // stale: the pair at this position changed since it was queued
		}
		syms[cur.next].size = 0
		cur.id, cur.size, cur.next = top.id, cur.size+right.size, right.next
		if right.next >= 0 {
			syms[right.next].prev = top.pos
		}
		if cur.prev >= 0 {
			if m, ok := t.merges[[2]int32{syms[cur.prev].id, cur.id}]; ok {
				heap.Push(&q, mergeCand{cur.prev, m.rank, m.id})
			}
		}
		if cur.next >= 0 {
			if m, ok := t.merges[[2]int32{cur.id, syms[cur.next].id}]; ok {
				heap.Push(&q, mergeCand{top.pos, m.rank, m.id})
			}
		}
	}
	out := make([]int32, 0, len(ids))
	for _, s := range syms {
		if s.size != 0 {
			out = append(out, s.id)
		}
	}
	return out
}
