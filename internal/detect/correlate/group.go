package correlate

// Group returns the group-by values a hit of a referenced rule belongs to
// under r, exactly as Observe computes them (aliases resolved for the hit's
// rule name or id). ok is false when the hit lacks a group-by field, in which
// case Observe ignores it too.
func (r *Rule) Group(h Hit) ([]GroupValue, bool) {
	group := make([]GroupValue, 0, len(r.GroupBy))
	for _, g := range r.GroupBy {
		field := g
		if m, ok := r.Aliases[g]; ok {
			if f, ok := m[h.Name]; ok && h.Name != "" {
				field = f
			} else if f, ok := m[h.ID]; ok && h.ID != "" {
				field = f
			}
		}
		v, ok := h.Event.Get(field)
		if !ok {
			return nil, false
		}
		s, ok := valueString(v)
		if !ok {
			return nil, false
		}
		group = append(group, GroupValue{Field: g, Value: s})
	}
	return group, true
}
