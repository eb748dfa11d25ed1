package visitor

import "fmt"

var _ PINTx = (*memTx)(nil)

func pinTagKey(location, tag string) string { return location + "\x00" + tag }

// ClaimPINTag implements PINTx: the tag becomes the visit's, undone if the
// transaction fails.
func (tx *memTx) ClaimPINTag(location, tag string) error {
	s := tx.s
	k := pinTagKey(location, tag)
	if _, held := s.pinTags[k]; held {
		return fmt.Errorf("%w: a live PIN at location %s has this tag", ErrExists, location)
	}
	if s.pinTags == nil {
		s.pinTags = make(map[string]string)
	}
	s.pinTags[k] = tx.visitID
	tx.onUndo(func() { delete(s.pinTags, k) })
	return nil
}

// ReleasePINTag implements PINTx.
func (tx *memTx) ReleasePINTag(location, tag string) error {
	s := tx.s
	k := pinTagKey(location, tag)
	if holder, ok := s.pinTags[k]; ok && holder == tx.visitID {
		delete(s.pinTags, k)
		tx.onUndo(func() { s.pinTags[k] = holder })
	}
	return nil
}
