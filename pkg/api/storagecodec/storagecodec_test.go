package storagecodec

import (
	"bytes"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/api/scheme"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
)

// countingCodec counts the decodes that reach the real codec.
type countingCodec struct {
	runtime.Codec
	decodes atomic.Int64
}

func (c *countingCodec) Decode(data []byte, defaults *schema.GroupVersionKind, into runtime.Object) (runtime.Object, *schema.GroupVersionKind, error) {
	c.decodes.Add(1)
	return c.Codec.Decode(data, defaults, into)
}

func newCodec(size int) (runtime.Codec, *countingCodec) {
	inner := &countingCodec{Codec: scheme.Codecs.LegacyCodec(kubevirtv1.SchemeGroupVersion)}
	return New(inner, size), inner
}

func testVM(name string) *kubevirt.VirtualMachine {
	vm := &kubevirt.VirtualMachine{}
	vm.Name, vm.Namespace = name, "default"
	vm.Labels = map[string]string{"app": name}
	vm.Spec.RunStrategy = ptr.To(kubevirtv1.RunStrategyAlways)
	vm.Spec.Template = &kubevirtv1.VirtualMachineInstanceTemplateSpec{}
	vm.Spec.Template.Spec.Domain.Devices.Disks = []kubevirtv1.Disk{{Name: "root"}}
	vm.Status.StateChangeRequests = []kubevirtv1.VirtualMachineStateChangeRequest{{Action: kubevirtv1.StartRequest, Data: map[string]string{"k": "v"}}}
	return vm
}

func encode(t *testing.T, c runtime.Codec, obj runtime.Object) []byte {
	t.Helper()
	data, err := runtime.Encode(c, obj)
	require.NoError(t, err)
	return data
}

func TestEncodesAsTheCodecItWraps(t *testing.T) {
	c, inner := newCodec(DefaultSize)
	vm := testVM("same")
	assert.Equal(t, encode(t, inner, vm), encode(t, c, vm))
	assert.Equal(t, inner.Identifier(), c.Identifier())
}

// TestEncodesIntoAnyWriter: the bytes written after what a buffer held
// already, or to a writer that is not a buffer, are those of the wrapped
// codec, and their decode is remembered.
func TestEncodesIntoAnyWriter(t *testing.T) {
	for _, tc := range []struct {
		name   string
		writer func() (io.Writer, func() []byte)
	}{
		{"a buffer holding bytes already", func() (io.Writer, func() []byte) {
			buf := bytes.NewBufferString("before")
			return buf, func() []byte { return bytes.TrimPrefix(buf.Bytes(), []byte("before")) }
		}},
		{"a writer that is not a buffer", func() (io.Writer, func() []byte) {
			var buf bytes.Buffer
			return struct{ io.Writer }{&buf}, buf.Bytes
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, inner := newCodec(DefaultSize)
			w, written := tc.writer()

			require.NoError(t, c.Encode(testVM("vm"), w))

			data := written()
			assert.Equal(t, encode(t, inner, testVM("vm")), data)
			_, _, err := c.Decode(data, nil, nil)
			require.NoError(t, err)
			second, _, err := c.Decode(data, nil, nil)
			require.NoError(t, err)
			assert.EqualValues(t, 1, inner.decodes.Load(), "the second decode comes from memory")
			assert.Equal(t, testVM("vm"), second)
		})
	}
}

func TestDecodesWhatItEncodedOnce(t *testing.T) {
	tests := []struct {
		name string
		// the two decodes of a write, in the order they happen
		first, second func() runtime.Object
	}{
		{"the store, then the watcher", func() runtime.Object { return &kubevirt.VirtualMachine{} }, func() runtime.Object { return nil }},
		{"the watcher, then the store", func() runtime.Object { return nil }, func() runtime.Object { return &kubevirt.VirtualMachine{} }},
		{"into nothing twice", func() runtime.Object { return nil }, func() runtime.Object { return nil }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, inner := newCodec(DefaultSize)
			data := encode(t, c, testVM("vm"))

			first, gvk1, err := c.Decode(data, nil, tc.first())
			require.NoError(t, err)
			second, gvk2, err := c.Decode(data, nil, tc.second())
			require.NoError(t, err)

			assert.EqualValues(t, 1, inner.decodes.Load(), "the second decode comes from memory")
			assert.Equal(t, gvk1, gvk2)
			assert.Equal(t, first, second)
			assert.Equal(t, testVM("vm"), second, "what the bytes hold")
		})
	}
}

func TestFillsTheObjectItIsGiven(t *testing.T) {
	c, _ := newCodec(DefaultSize)
	data := encode(t, c, testVM("into"))
	_, _, err := c.Decode(data, nil, nil)
	require.NoError(t, err)

	into := &kubevirt.VirtualMachine{}
	into.Annotations = map[string]string{"left": "over"}
	out, _, err := c.Decode(data, nil, into)
	require.NoError(t, err)
	assert.Same(t, into, out)
	assert.Equal(t, testVM("into"), into, "nothing of what into held before is left")
}

// TestCopiesAreIndependent: no object handed out shares memory with
// another, or with what the codec keeps.
func TestCopiesAreIndependent(t *testing.T) {
	c, _ := newCodec(DefaultSize)
	data := encode(t, c, testVM("shared"))
	var got []*kubevirt.VirtualMachine
	for _, into := range []runtime.Object{nil, &kubevirt.VirtualMachine{}, nil, &kubevirt.VirtualMachine{}} {
		obj, _, err := c.Decode(data, nil, into)
		require.NoError(t, err)
		got = append(got, obj.(*kubevirt.VirtualMachine))
	}
	// The store sets the resourceVersion on what it decoded; handlers
	// change maps, slices and pointers of what they get.
	for i, vm := range got {
		vm.ResourceVersion = fmt.Sprint(i)
		vm.Labels["app"] = fmt.Sprint("changed-", i)
		*vm.Spec.RunStrategy = kubevirtv1.RunStrategyHalted
		vm.Spec.Template.Spec.Domain.Devices.Disks[0].Name = fmt.Sprint("disk-", i)
		vm.Status.StateChangeRequests[0].Data["k"] = fmt.Sprint(i)
	}
	for i, vm := range got {
		assert.Equal(t, fmt.Sprint(i), vm.ResourceVersion)
		assert.Equal(t, fmt.Sprint("changed-", i), vm.Labels["app"])
		assert.Equal(t, fmt.Sprint("disk-", i), vm.Spec.Template.Spec.Domain.Devices.Disks[0].Name)
		assert.Equal(t, fmt.Sprint(i), vm.Status.StateChangeRequests[0].Data["k"])
	}
	again, _, err := c.Decode(data, nil, nil)
	require.NoError(t, err)
	assert.Equal(t, testVM("shared"), again, "what the codec keeps is as first decoded")
}

func TestDecodesAsBefore(t *testing.T) {
	c, inner := newCodec(DefaultSize)
	other := encode(t, inner, testVM("elsewhere")) // written by another replica, or read
	mine := encode(t, c, testVM("mine"))
	_, _, err := c.Decode(mine, nil, nil)
	require.NoError(t, err)
	base := inner.decodes.Load()

	tests := []struct {
		name     string
		data     []byte
		defaults *schema.GroupVersionKind
		into     runtime.Object
	}{
		{"bytes it did not encode", other, nil, nil},
		{"the same bytes again: not remembered either", other, nil, &kubevirt.VirtualMachine{}},
		{"with defaults", mine, &schema.GroupVersionKind{Group: "kubevirt.io", Version: "v1", Kind: "VirtualMachine"}, nil},
		{"into another type", mine, nil, &kubevirtv1.VirtualMachine{}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want, _, wantErr := inner.Codec.Decode(tc.data, tc.defaults, tc.into)
			got, _, err := c.Decode(tc.data, tc.defaults, tc.into)
			assert.Equal(t, wantErr, err)
			assert.Equal(t, want, got)
			assert.EqualValues(t, base+int64(i)+1, inner.decodes.Load(), "decoded by the real codec")
		})
	}

	t.Run("an error", func(t *testing.T) {
		bad := []byte(`{"apiVersion":"kubevirt.io/v1","kind":"VirtualMachine","spec":{"runStrategy":1}}`)
		for range 2 {
			_, _, err := c.Decode(bad, nil, nil)
			require.Error(t, err)
		}
	})
}

func TestForgetsTheOldestWrites(t *testing.T) {
	c, inner := newCodec(2)
	var written [][]byte
	for i := range 3 {
		data := encode(t, c, testVM(fmt.Sprint("vm-", i)))
		_, _, err := c.Decode(data, nil, nil)
		require.NoError(t, err)
		written = append(written, data)
	}
	base := inner.decodes.Load()
	_, _, err := c.Decode(written[2], nil, nil)
	require.NoError(t, err)
	_, _, err = c.Decode(written[1], nil, nil)
	require.NoError(t, err)
	assert.Equal(t, base, inner.decodes.Load(), "the latest two are remembered")
	obj, _, err := c.Decode(written[0], nil, nil)
	require.NoError(t, err)
	assert.Equal(t, base+1, inner.decodes.Load(), "the first is decoded again")
	assert.Equal(t, "vm-0", obj.(*kubevirt.VirtualMachine).Name)
}

func TestConcurrentWritesAndDecodes(t *testing.T) {
	c, _ := newCodec(8)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 8 {
		wg.Go(func() {
			for i := range 50 {
				vm := testVM(fmt.Sprintf("vm-%d-%d", w, i))
				var buf bytes.Buffer
				if err := c.Encode(vm, &buf); err != nil {
					errs <- err
					return
				}
				for _, into := range []runtime.Object{&kubevirt.VirtualMachine{}, nil} {
					obj, _, err := c.Decode(buf.Bytes(), nil, into)
					if err != nil {
						errs <- err
						return
					}
					if got := obj.(*kubevirt.VirtualMachine); got.Name != vm.Name {
						errs <- errors.New("decoded " + got.Name + ", want " + vm.Name)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
}

// FuzzDecode: whatever the bytes, and whether or not the codec wrote them,
// a decode answers what the wrapped codec answers.
func FuzzDecode(f *testing.F) {
	inner := scheme.Codecs.LegacyCodec(kubevirtv1.SchemeGroupVersion)
	seed, err := runtime.Encode(inner, testVM("seed"))
	require.NoError(f, err)
	f.Add(seed, true)
	f.Add(seed, false)
	f.Add([]byte(`{"apiVersion":"kubevirt.io/v1","kind":"VirtualMachine","metadata":{"name":"x"}}`), true)
	f.Add([]byte(`{}`), true)
	f.Add([]byte(`not json`), false)
	f.Fuzz(func(t *testing.T, data []byte, encodedHere bool) {
		c := New(inner, 4).(*decodeOnce)
		if _, _, err := inner.Decode(data, nil, nil); encodedHere && err == nil {
			// As if this codec had written these bytes. What an encoder
			// writes names its apiVersion and kind, so it decodes without
			// a type to decode into.
			c.encoded[0] = maphash.Bytes(c.seed, data)
		}
		for range 2 {
			for _, into := range []runtime.Object{nil, &kubevirt.VirtualMachine{}} {
				var wantInto runtime.Object
				if into != nil {
					wantInto = &kubevirt.VirtualMachine{}
				}
				want, wantGVK, wantErr := inner.Decode(data, nil, wantInto)
				got, gotGVK, err := c.Decode(data, nil, into)
				if wantErr != nil {
					require.Error(t, err)
					continue
				}
				require.NoError(t, err)
				assert.Equal(t, wantGVK, gotGVK)
				assert.Equal(t, want, got)
			}
		}
	})
}

// blockingCodec holds every decode until release is closed.
type blockingCodec struct {
	countingCodec
	started chan struct{}
	release chan struct{}
}

func (c *blockingCodec) Decode(data []byte, defaults *schema.GroupVersionKind, into runtime.Object) (runtime.Object, *schema.GroupVersionKind, error) {
	c.started <- struct{}{}
	<-c.release
	return c.countingCodec.Decode(data, defaults, into)
}

// TestSecondDecoderWaitsForTheFirst: the store and the watcher get a
// write's bytes at about the same time; the second waits for the first's
// decode instead of decoding too.
func TestSecondDecoderWaitsForTheFirst(t *testing.T) {
	inner := &blockingCodec{
		countingCodec: countingCodec{Codec: scheme.Codecs.LegacyCodec(kubevirtv1.SchemeGroupVersion)},
		started:       make(chan struct{}, 2),
		release:       make(chan struct{}),
	}
	c := New(inner, DefaultSize)
	var buf bytes.Buffer
	require.NoError(t, c.Encode(testVM("racing"), &buf))

	results := make(chan runtime.Object, 2)
	decode := func(into runtime.Object) {
		obj, _, err := c.Decode(buf.Bytes(), nil, into)
		assert.NoError(t, err)
		results <- obj
	}
	go decode(&kubevirt.VirtualMachine{})
	<-inner.started // the first is decoding
	go decode(nil)
	close(inner.release)
	first, second := <-results, <-results
	assert.EqualValues(t, 1, inner.decodes.Load())
	assert.Len(t, inner.started, 0, "the second never reached the real codec")
	assert.Equal(t, testVM("racing"), first)
	assert.Equal(t, testVM("racing"), second)
}
