package sigma

// acMatcher is an Aho-Corasick automaton compiled to a dense transition
// table over byte classes (bytes that occur in no pattern share class 0), so
// scanning is one table load per input byte.
type acMatcher struct {
	class  [256]uint8
	nclass int32
	// next maps row+class to the next state's row (state*nclass); the row
	// is stored bit-inverted (negative) when that state has output, so the
	// scan loop tests one sign per byte.
	next []int32
	term []int32 // first state on the output chain of a state, or -1
	dict []int32 // next state with output along the failure chain, or -1
	own  [][]int32
}

// buildAC compiles the patterns (none empty). Pattern i is reported as i.
func buildAC(pats []string) *acMatcher {
	m := &acMatcher{}
	var used [256]bool
	for _, p := range pats {
		for i := 0; i < len(p); i++ {
			used[p[i]] = true
		}
	}
	var byteOf []byte
	byteOf = append(byteOf, 0)
	for b := 0; b < 256; b++ {
		if used[b] {
			m.class[b] = uint8(len(byteOf))
			byteOf = append(byteOf, byte(b))
		}
	}
	if len(byteOf) > 255 {
		// More than 255 distinct bytes: fall back to one class per byte
		// value so class indices still fit in uint8.
		byteOf = byteOf[:0]
		for b := 0; b < 256; b++ {
			m.class[b] = uint8(b)
			byteOf = append(byteOf, byte(b))
		}
	}
	// Fold ASCII case: patterns are lower-case, and an upper-case input
	// byte takes its lower-case letter's class, so values need no
	// lower-casing before a scan.
	for c := 'A'; c <= 'Z'; c++ {
		m.class[c] = m.class[c+'a'-'A']
	}
	nc := int32(len(byteOf))
	m.nclass = nc

	// Trie, with children stored densely by class from the start.
	children := [][]int32{make([]int32, nc)}
	m.own = [][]int32{nil}
	for pi, p := range pats {
		s := int32(0)
		for i := 0; i < len(p); i++ {
			c := m.class[p[i]]
			if children[s][c] == 0 {
				children = append(children, make([]int32, nc))
				m.own = append(m.own, nil)
				children[s][c] = int32(len(children) - 1)
			}
			s = children[s][c]
		}
		m.own[s] = append(m.own[s], int32(pi))
	}
	n := len(children)
	m.next = make([]int32, n*int(nc))
	m.term = make([]int32, n)
	m.dict = make([]int32, n)
	fail := make([]int32, n)
	m.term[0], m.dict[0] = -1, -1
	queue := make([]int32, 0, n)
	for c := int32(0); c < nc; c++ {
		if v := children[0][c]; v != 0 {
			m.next[c] = v
			queue = append(queue, v)
		}
	}
	for qi := 0; qi < len(queue); qi++ {
		u := queue[qi]
		f := fail[u]
		if len(m.own[u]) > 0 {
			m.term[u] = u
		} else {
			m.term[u] = m.term[f]
		}
		m.dict[u] = m.term[f]
		base := int(u) * int(nc)
		fbase := int(f) * int(nc)
		for c := int32(0); c < nc; c++ {
			if v := children[u][c]; v != 0 {
				m.next[base+int(c)] = v
				fail[v] = m.next[fbase+int(c)]
				queue = append(queue, v)
			} else {
				m.next[base+int(c)] = m.next[fbase+int(c)]
			}
		}
		children[u] = nil
	}
	// Rewrite targets as rows, flagged when the target has output.
	for i, v := range m.next {
		row := v * nc
		if m.term[v] >= 0 {
			row = ^row
		}
		m.next[i] = row
	}
	return m
}
