package correlate

// Group returns the group-by values a hit of a referenced rule belongs to
// under r, exactly as Observe computes them (aliases resolved for the hit's
// rule name or id). ok is false when the hit lacks a group-by field, in which
// case Observe ignores it too.
func (r *Rule) Group(h Hit) ([]GroupValue, bool) {
	group := make([]GroupValue, 0, len(r.GroupBy))
	for _, g := range r.GroupBy {
		s, ok := r.groupValue(g, h)
		if !ok {
			return nil, false
		}
		group = append(group, GroupValue{Field: g, Value: s})
	}
	return group, true
}

// AppendGroup appends the values Group would return to dst, each preceded
// by a 0x1f byte, without building the slice: a caller keying its own state
// by group looks the key up in a reused buffer and allocates only for a new
// group. ok is false when Group's would be.
func (r *Rule) AppendGroup(dst []byte, h Hit) ([]byte, bool) {
	for _, g := range r.GroupBy {
		s, ok := r.groupValue(g, h)
		if !ok {
			return dst, false
		}
		dst = append(dst, 0x1f)
		dst = append(dst, s...)
	}
	return dst, true
}

// groupValue reads one group-by field of a hit, aliases resolved.
func (r *Rule) groupValue(g string, h Hit) (string, bool) {
	v, ok := h.Event.Get(r.fieldFor(g, h))
	if !ok {
		return "", false
	}
	return valueString(v)
}
