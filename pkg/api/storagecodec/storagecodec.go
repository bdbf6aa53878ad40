// Package storagecodec wraps the codec the etcd store uses so that the bytes
// of a write are decoded once, not twice.
//
// For every write, k8s.io/apiserver's etcd3 store encodes the new object,
// writes the bytes, and decodes them back into the object it returns; the
// watcher that feeds the watch cache then receives the same bytes from
// etcd and decodes them again. The codec here keeps, by their exact bytes,
// a deep copy of what it decoded from bytes it had encoded itself a moment
// earlier, and hands it to the second decode of those bytes instead of
// decoding them again. Bytes it did not encode (reads, lists, writes by
// other replicas) are decoded as before and not remembered, so that a long
// list from etcd costs no extra copies.
package storagecodec

import (
	"bytes"
	"hash/maphash"
	"io"
	"reflect"
	"sync"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// DefaultSize is how many writes the codec keeps track of. An entry is
// useful for the few milliseconds between a write's two decodes; this is
// room for far more writes in flight than a server has.
const DefaultSize = 256

// New returns codec, with decodes of the bytes it encoded recently answered
// from memory. size bounds the bytes and the objects remembered (each the
// oldest first out).
func New(codec runtime.Codec, size int) runtime.Codec {
	if size < 1 {
		size = 1
	}
	return &decodeOnce{
		Codec:   codec,
		seed:    maphash.MakeSeed(),
		encoded: make([]uint64, size),
		decoded: make([]*entry, size),
	}
}

// decodeOnce is the codec New returns.
type decodeOnce struct {
	runtime.Codec
	seed maphash.Seed

	mu sync.Mutex
	// encoded is a ring of the hashes of the latest encodings; next is the
	// slot the next one takes.
	encoded     []uint64
	nextEncoded int
	// decoded is a ring of the decodes of recently encoded bytes.
	decoded     []*entry
	nextDecoded int
}

// entry is the decode of data. The first decoder of the bytes fills it
// and marks it done; one that comes meanwhile (the store and the watcher
// receive a write's bytes at about the same moment) waits for it rather
// than decoding them too.
type entry struct {
	sum  uint64
	data []byte
	done sync.WaitGroup
	// Set before done is marked: the object as first decoded, kept
	// unchanged, and its kind; ok is false if the decode failed.
	obj runtime.Object
	gvk schema.GroupVersionKind
	ok  bool
}

// Encode encodes obj and notes the hash of the bytes, so that their
// decodes are remembered. The store encodes into a bytes.Buffer of its
// own; the bytes are then hashed where they are, with no copy.
func (c *decodeOnce) Encode(obj runtime.Object, w io.Writer) error {
	if buf, ok := w.(*bytes.Buffer); ok {
		start := buf.Len()
		if err := c.Codec.Encode(obj, buf); err != nil {
			buf.Truncate(start)
			return err
		}
		c.noteEncoded(buf.Bytes()[start:])
		return nil
	}
	var buf bytes.Buffer
	if err := c.Codec.Encode(obj, &buf); err != nil {
		return err
	}
	c.noteEncoded(buf.Bytes())
	_, err := w.Write(buf.Bytes())
	return err
}

// noteEncoded notes the hash of bytes just encoded.
func (c *decodeOnce) noteEncoded(data []byte) {
	sum := maphash.Bytes(c.seed, data)
	c.mu.Lock()
	c.encoded[c.nextEncoded] = sum
	c.nextEncoded = (c.nextEncoded + 1) % len(c.encoded)
	c.mu.Unlock()
}

// Decode answers the second decode of bytes it encoded with what the first
// decode gave, and otherwise decodes them. The first decode of such bytes
// keeps a deep copy of its result for the second, which takes it over: a
// write's bytes are decoded twice, by the store and by the watcher, so an
// entry serves once and is forgotten, and a third decode decodes again. Only decodes without defaults,
// into nothing or into the type remembered, are answered from memory: the
// store's and the watcher's. Bytes an encoder wrote name their apiVersion
// and kind, so a decode of them into nothing and one into their type give
// the same object, and either can answer the other.
func (c *decodeOnce) Decode(data []byte, defaults *schema.GroupVersionKind, into runtime.Object) (runtime.Object, *schema.GroupVersionKind, error) {
	if defaults != nil {
		return c.Codec.Decode(data, defaults, into)
	}
	sum := maphash.Bytes(c.seed, data)
	c.mu.Lock()
	e := c.take(sum, data)
	first := e == nil && c.takeEncoded(sum)
	if first {
		e = &entry{sum: sum, data: bytes.Clone(data)}
		e.done.Add(1)
		c.decoded[c.nextDecoded] = e
		c.nextDecoded = (c.nextDecoded + 1) % len(c.decoded)
	}
	c.mu.Unlock()

	if e == nil {
		return c.Codec.Decode(data, defaults, into)
	}
	if first {
		obj, gvk, err := c.Codec.Decode(data, defaults, into)
		if err == nil && gvk != nil {
			e.obj, e.gvk, e.ok = obj.DeepCopyObject(), *gvk, true
		}
		e.done.Done()
		return obj, gvk, err
	}
	e.done.Wait()
	if !e.ok || (into != nil && reflect.TypeOf(into) != reflect.TypeOf(e.obj)) {
		return c.Codec.Decode(data, defaults, into)
	}
	gvk := e.gvk
	return handOver(e.obj, into), &gvk, nil
}

// take finds the entry of data and forgets it: only its taker gets its
// object. The caller holds mu.
func (c *decodeOnce) take(sum uint64, data []byte) *entry {
	for i, e := range c.decoded {
		if e != nil && e.sum == sum && bytes.Equal(e.data, data) {
			c.decoded[i] = nil
			return e
		}
	}
	return nil
}

// takeEncoded reports whether bytes hashing to sum were encoded lately,
// and forgets them: only their first decode keeps its result. A collision
// with other bytes costs only an entry. The caller holds mu.
func (c *decodeOnce) takeEncoded(sum uint64) bool {
	for i, s := range c.encoded {
		if s == sum {
			c.encoded[i] = 0
			return true
		}
	}
	return false
}

// handOver returns obj, which no one else holds, in into when there is one.
func handOver(obj, into runtime.Object) runtime.Object {
	if into == nil {
		return obj
	}
	reflect.ValueOf(into).Elem().Set(reflect.ValueOf(obj).Elem())
	return into
}
