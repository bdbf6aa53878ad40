package fieldcheck

import "encoding/binary"

// fieldIndex finds a struct's field by its JSON name. It is a small
// open-addressing hash table, built once per struct type; for the few short
// names of API structs it answers faster than a Go map, and the lookup runs
// for nearly every key of a document.
type fieldIndex struct {
	slots []int32  // field index + 1 per slot, 0 for an empty slot
	names []string // JSON name per field index
	shift uint     // 64 - log2(len(slots)): the slot is taken from the hash's top bits
	mask  uint64
}

func newFieldIndex(names []string) fieldIndex {
	bits := uint(2)
	for 1<<bits < 2*len(names) { // at most half full keeps probe runs short
		bits++
	}
	ix := fieldIndex{slots: make([]int32, 1<<bits), names: names, shift: 64 - bits, mask: 1<<bits - 1}
	for i, name := range names {
		j := hashName([]byte(name)) >> ix.shift
		for ix.slots[j] != 0 {
			j = (j + 1) & ix.mask
		}
		ix.slots[j] = int32(i + 1)
	}
	return ix
}

// lookup returns the index of the field named key, or false.
func (ix *fieldIndex) lookup(key []byte) (int, bool) {
	j := hashName(key) >> ix.shift
	for {
		k := ix.slots[j]
		if k == 0 {
			return -1, false
		}
		if ix.names[k-1] == string(key) {
			return int(k - 1), true
		}
		j = (j + 1) & ix.mask
	}
}

// hashName mixes the length and up to 16 bytes from both ends of a name,
// which tell the names of one struct apart well enough, with a
// multiplicative hash whose top bits are well distributed.
func hashName(s []byte) uint64 {
	n := len(s)
	v := uint64(n) << 56
	switch {
	case n >= 8:
		v ^= binary.LittleEndian.Uint64(s) ^ binary.LittleEndian.Uint64(s[n-8:])*0xff51afd7ed558ccd
	case n >= 4:
		v ^= uint64(binary.LittleEndian.Uint32(s)) | uint64(binary.LittleEndian.Uint32(s[n-4:]))<<24
	case n > 0:
		v ^= uint64(s[0]) | uint64(s[n/2])<<8 | uint64(s[n-1])<<16
	}
	return v * 0x9e3779b97f4a7c15
}
