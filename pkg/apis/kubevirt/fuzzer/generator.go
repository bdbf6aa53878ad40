package fuzzer

import (
	"fmt"
	"math/rand"
	"strings"

	metafuzzer "k8s.io/apimachinery/pkg/apis/meta/fuzzer"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeserializer "k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/randfill"
)

// generator builds one valid VM. Constrained fields are chosen explicitly
// from r; the free ones are filled by f, a filler that is denser than the
// apimachinery default (fewer nils, non-empty lists) so that deep fields are
// reached often. Both are seeded from the caller's stream, so a VM depends
// on that stream only.
type generator struct {
	r *rand.Rand
	f *randfill.Filler
	// counter makes names and claim requests unique within the VM.
	counter int
}

func newGenerator(r *rand.Rand, codecs runtimeserializer.CodecFactory) *generator {
	f := randfill.New().NilChance(.2).NumElements(1, 2).MaxDepth(40).
		RandSource(rand.NewSource(r.Int63())).
		Funcs(metafuzzer.Funcs(codecs)...).
		Funcs(leafFuncs()...)
	return &generator{r: r, f: f}
}

// leafFuncs complete the meta fuzzer for the free fields: raw JSON gets a
// well-formed value and optional timestamps get filled.
func leafFuncs() []interface{} {
	return []interface{}{
		func(fv *metav1.FieldsV1, c randfill.Continue) {
			fv.SetRawString(`{"f:metadata":{"f:labels":{}}}`)
		},
		// metav1.Time fills itself only when it exists, so an optional
		// timestamp would otherwise stay nil.
		func(t **metav1.Time, c randfill.Continue) {
			*t = nil
			if c.Float64() >= .2 {
				*t = &metav1.Time{}
				c.Fill(*t)
			}
		},
	}
}

// fill fills obj with free random content.
func (g *generator) fill(obj interface{}) { g.f.Fill(obj) }

func (g *generator) chance(p float64) bool { return g.r.Float64() < p }

func (g *generator) intn(n int) int { return g.r.Intn(n) }

// between returns an int in [lo, hi].
func (g *generator) between(lo, hi int) int { return lo + g.r.Intn(hi-lo+1) }

func pick[T any](g *generator, values ...T) T { return values[g.r.Intn(len(values))] }

// optional returns a pointer to v, or nil one time in four.
func optional[T any](g *generator, v T) *T {
	if g.chance(.25) {
		return nil
	}
	return &v
}

const labelChars = "abcdefghijklmnopqrstuvwxyz0123456789"

// label returns a random DNS-1123 label of up to 12 characters.
func (g *generator) label() string {
	n := g.between(1, 12)
	var b strings.Builder
	b.WriteByte(labelChars[g.intn(26)])
	for i := 1; i < n; i++ {
		b.WriteByte(labelChars[g.intn(len(labelChars))])
	}
	return b.String()
}

// name returns a label made unique within the VM by a counter.
func (g *generator) name(prefix string) string {
	g.counter++
	return fmt.Sprintf("%s-%s-%d", prefix, g.label(), g.counter)
}

// subdomain returns a random DNS-1123 subdomain of one to three labels.
func (g *generator) subdomain() string {
	parts := make([]string, g.between(1, 3))
	for i := range parts {
		parts[i] = g.label()
	}
	return strings.Join(parts, ".")
}

// labelKey returns a qualified name, with a DNS prefix half of the time.
func (g *generator) labelKey() string {
	key := g.label()
	if g.chance(.5) {
		key = g.subdomain() + "/" + key
	}
	return key
}

// labels returns 0 to 3 valid labels; the reserved kubevirt.io/ labels are
// never generated since their prefix is not produced by labelKey.
func (g *generator) labels() map[string]string {
	n := g.intn(4)
	if n == 0 {
		return nil
	}
	m := make(map[string]string, n)
	for range n {
		m[g.labelKey()] = pick(g, "", g.label(), "Value_1.x")
	}
	return m
}

// annotations returns 0 to 3 annotations with qualified keys and free values.
func (g *generator) annotations() map[string]string {
	n := g.intn(4)
	if n == 0 {
		return nil
	}
	m := make(map[string]string, n)
	for range n {
		var value string
		g.fill(&value)
		m[g.labelKey()] = value
	}
	return m
}

// objectMeta makes the meta fuzzer's ObjectMeta valid for a create: a DNS
// name and namespace, qualified labels, annotations and finalizers, owner
// references and managed fields of the accepted shapes.
func (g *generator) objectMeta(c randfill.Continue, m *metav1.ObjectMeta) {
	c.Fill(m)
	m.Name = g.subdomain()
	m.GenerateName = pick(g, "", "vm-")
	m.Namespace = g.label()
	if m.Generation < 0 {
		m.Generation = -m.Generation
	}
	m.Labels = g.labels()
	m.Annotations = g.annotations()
	g.fixEmbeddedMeta(m)
}

// fixEmbeddedMeta makes the parts of an ObjectMeta that a create validates
// well-formed, leaving name, namespace, labels and annotations alone.
func (g *generator) fixEmbeddedMeta(m *metav1.ObjectMeta) {
	controller := false
	for i := range m.OwnerReferences {
		o := &m.OwnerReferences[i]
		o.APIVersion = "example.com/v1"
		o.Kind = "Owner"
		o.Name = g.label()
		o.UID = types.UID(g.label())
		// At most one owner may be the controller.
		if o.Controller != nil && *o.Controller {
			if controller {
				o.Controller = nil
			}
			controller = true
		}
	}
	for i := range m.Finalizers {
		m.Finalizers[i] = "example.com/" + g.label()
	}
	for i := range m.ManagedFields {
		mf := &m.ManagedFields[i]
		mf.Manager = g.label()
		mf.Operation = pick(g, metav1.ManagedFieldsOperationApply, metav1.ManagedFieldsOperationUpdate)
		mf.APIVersion = "kubevirt.io/v1"
		mf.FieldsType = "FieldsV1"
		mf.FieldsV1 = metav1.NewFieldsV1(`{"f:spec":{}}`)
		mf.Subresource = pick(g, "", "status")
	}
	if len(m.OwnerReferences) == 0 {
		m.OwnerReferences = nil
	}
}

// templateMeta fills the metadata of an embedded template.
func (g *generator) templateMeta() metav1.ObjectMeta {
	var m metav1.ObjectMeta
	g.fill(&m)
	m.Labels = g.labels()
	m.Annotations = g.annotations()
	g.fixEmbeddedMeta(&m)
	return m
}
