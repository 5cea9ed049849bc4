package mixnode

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// held is a processed packet waiting for its delay to pass.
type held struct {
	due time.Time
	seq uint64 // keeps equal due times in arrival order
	out outgoing
}

type heldHeap []held

func (h heldHeap) Len() int { return len(h) }
func (h heldHeap) Less(i, j int) bool {
	if h[i].due.Equal(h[j].due) {
		return h[i].seq < h[j].seq
	}
	return h[i].due.Before(h[j].due)
}
func (h heldHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *heldHeap) Push(x any)   { *h = append(*h, x.(held)) }
func (h *heldHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	old[len(old)-1] = held{}
	*h = old[:len(old)-1]
	return x
}

// delayQueue holds packets until their due time on one timer: a heap ordered
// by due time and one goroutine that sleeps until the earliest. It is
// bounded in packets and in bytes (of the buffers it holds); add refuses a
// packet over either bound.
type delayQueue struct {
	max      int
	maxBytes int64
	mu       sync.Mutex
	h        heldHeap
	bytes    int64
	seq      uint64
	wake     chan struct{} // buffered(1): the earliest due time changed
}

func newDelayQueue(max int, maxBytes int64) *delayQueue {
	return &delayQueue{max: max, maxBytes: maxBytes, wake: make(chan struct{}, 1)}
}

func (q *delayQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.h)
}

// size is the bytes held.
func (q *delayQueue) size() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.bytes
}

// add holds out until due, or says which bound refused it.
func (q *delayQueue) add(due time.Time, out outgoing) (DropReason, bool) {
	size := out.size()
	q.mu.Lock()
	if len(q.h) >= q.max {
		q.mu.Unlock()
		return DropDelayQueueFull, false
	}
	if q.bytes+size > q.maxBytes {
		q.mu.Unlock()
		return DropDelayQueueBytes, false
	}
	q.bytes += size
	q.seq++
	heap.Push(&q.h, held{due: due, seq: q.seq, out: out})
	earliest := q.h[0].seq == q.seq
	q.mu.Unlock()
	if earliest {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
	return 0, true
}

// run releases packets to release as they fall due, until ctx ends; then
// it hands every packet still held to drop.
func (q *delayQueue) run(ctx context.Context, release func(outgoing), drop func(outgoing)) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var due []outgoing
	for {
		q.mu.Lock()
		now := time.Now()
		for len(q.h) > 0 && !q.h[0].due.After(now) {
			out := heap.Pop(&q.h).(held).out
			q.bytes -= out.size()
			due = append(due, out)
		}
		wait := time.Hour
		if len(q.h) > 0 {
			wait = q.h[0].due.Sub(now)
		}
		q.mu.Unlock()
		for i := range due {
			release(due[i])
			due[i] = outgoing{}
		}
		due = due[:0]
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			q.mu.Lock()
			rest := q.h
			q.h, q.bytes = nil, 0
			q.mu.Unlock()
			for _, h := range rest {
				drop(h.out)
			}
			return
		case <-timer.C:
		case <-q.wake:
		}
	}
}
