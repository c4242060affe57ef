// Package lru keeps values in order of their last use, so that bounded
// state (correlation groups, alert evidence) can drop the value idle
// longest in constant time. The values carry their own links, so a list
// allocates nothing per element.
package lru

// Links is the part of a value a List uses. Embed it in the value's
// struct and return it from the value's Links method.
type Links[T any] struct {
	prev, next *T
}

// Elem is what a List holds: a pointer to T with T's Links.
type Elem[T any] interface {
	*T
	Links() *Links[T]
}

// List orders values from the most recently used (front) to the least
// (back). The zero List is empty. A value is in at most one List at a
// time; the List does not check that.
type List[T any, P Elem[T]] struct {
	front, back *T
}

// Front returns the most recently used value, nil when the list is empty.
func (l *List[T, P]) Front() *T { return l.front }

// Back returns the least recently used value, nil when the list is empty.
func (l *List[T, P]) Back() *T { return l.back }

// Next returns the value after x (used less recently), nil at the back.
func (l *List[T, P]) Next(x *T) *T { return P(x).Links().next }

// Prev returns the value before x (used more recently), nil at the front.
func (l *List[T, P]) Prev(x *T) *T { return P(x).Links().prev }

// PushFront adds x, which must not be in a list, at the front.
func (l *List[T, P]) PushFront(x *T) {
	lx := P(x).Links()
	lx.prev, lx.next = nil, l.front
	if l.front != nil {
		P(l.front).Links().prev = x
	}
	l.front = x
	if l.back == nil {
		l.back = x
	}
}

// Remove takes x out of the list.
func (l *List[T, P]) Remove(x *T) {
	lx := P(x).Links()
	if lx.prev != nil {
		P(lx.prev).Links().next = lx.next
	} else {
		l.front = lx.next
	}
	if lx.next != nil {
		P(lx.next).Links().prev = lx.prev
	} else {
		l.back = lx.prev
	}
	lx.prev, lx.next = nil, nil
}

// Touch moves x, which must be in the list, to the front.
func (l *List[T, P]) Touch(x *T) {
	if l.front != x {
		l.Remove(x)
		l.PushFront(x)
	}
}
