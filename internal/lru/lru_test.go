package lru

import (
	"math/rand/v2"
	"slices"
	"testing"
)

type item struct {
	n     int
	links Links[item]
}

func (it *item) Links() *Links[item] { return &it.links }

// order walks l front to back and back to front, and checks that the two
// walks agree.
func order(t *testing.T, l *List[item, *item]) []int {
	t.Helper()
	var fw, bw []int
	for x := l.Front(); x != nil; x = l.Next(x) {
		fw = append(fw, x.n)
	}
	for x := l.Back(); x != nil; x = l.Prev(x) {
		bw = append(bw, x.n)
	}
	slices.Reverse(bw)
	if !slices.Equal(fw, bw) {
		t.Fatalf("forward walk %v, backward walk reversed %v", fw, bw)
	}
	return fw
}

// TestListMatchesASlice runs random pushes, touches and removals on a List
// and on a plain slice kept in the same order, and compares them.
func TestListMatchesASlice(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var l List[item, *item]
	var want []int // front first
	items := map[int]*item{}
	for step := range 5000 {
		switch op := rng.IntN(4); {
		case op == 0 || len(want) == 0:
			it := &item{n: step}
			items[step] = it
			l.PushFront(it)
			want = slices.Insert(want, 0, step)
		case op == 1:
			i := rng.IntN(len(want))
			l.Touch(items[want[i]])
			n := want[i]
			want = slices.Insert(slices.Delete(want, i, i+1), 0, n)
		case op == 2:
			i := rng.IntN(len(want))
			it := items[want[i]]
			l.Remove(it)
			if it.links != (Links[item]{}) {
				t.Fatalf("step %d: removed item keeps links", step)
			}
			delete(items, want[i])
			want = slices.Delete(want, i, i+1)
		default:
			b := l.Back()
			if b == nil || b.n != want[len(want)-1] {
				t.Fatalf("step %d: back is %v, want %d", step, b, want[len(want)-1])
			}
			l.Remove(b)
			delete(items, b.n)
			want = want[:len(want)-1]
		}
		if got := order(t, &l); !slices.Equal(got, want) {
			t.Fatalf("step %d: list %v, want %v", step, got, want)
		}
	}
	var empty List[item, *item]
	if empty.Front() != nil || empty.Back() != nil {
		t.Fatal("the zero List is not empty")
	}
}
