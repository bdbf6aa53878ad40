package fuzzer

import (
	corev1 "k8s.io/api/core/v1"
	virtv1 "kubevirt.io/api/core/v1"
	cdiv1 "kubevirt.io/containerized-data-importer-api/pkg/apis/core/v1beta1"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
)

// vmSpec builds the spec of a VM in namespace: a run strategy, the optional
// instancetype, preference and DataVolume templates, and the template.
func (g *generator) vmSpec(namespace string) virtv1.VirtualMachineSpec {
	var spec virtv1.VirtualMachineSpec
	// The deprecated spec.running, seldom, or a run strategy.
	if g.chance(.15) {
		spec.Running = pick(g, ptrTo(true), ptrTo(false))
	} else {
		spec.RunStrategy = ptrTo(pick(g, kubevirt.SupportedRunStrategies...))
	}
	if g.chance(.4) {
		spec.UpdateVolumesStrategy = ptrTo(pick(g, virtv1.UpdateVolumesStrategyMigration, virtv1.UpdateVolumesStrategyReplacement))
	}

	// The templates come first so that volumes can use them.
	var dvNames []string
	for range g.intn(3) {
		dvt := g.dataVolumeTemplate(namespace)
		dvNames = append(dvNames, dvt.Name)
		spec.DataVolumeTemplates = append(spec.DataVolumeTemplates, dvt)
	}

	inst := g.instanceSpec(dvNames)
	spec.Template = &virtv1.VirtualMachineInstanceTemplateSpec{ObjectMeta: g.templateMeta(), Spec: inst}

	// A matcher names its object or infers it from one of the volumes.
	if g.chance(.35) {
		m := virtv1.InstancetypeMatcher{}
		g.matcher(&m.Name, &m.Kind, &m.RevisionName, &m.InferFromVolume, &m.InferFromVolumeFailurePolicy, inst.Volumes,
			"VirtualMachineInstancetype", "VirtualMachineClusterInstancetype")
		spec.Instancetype = &m
	}
	if g.chance(.35) {
		m := virtv1.PreferenceMatcher{}
		g.matcher(&m.Name, &m.Kind, &m.RevisionName, &m.InferFromVolume, &m.InferFromVolumeFailurePolicy, inst.Volumes,
			"VirtualMachinePreference", "VirtualMachineClusterPreference")
		spec.Preference = &m
	}
	normalize(&spec)
	return spec
}

// matcher fills an instancetype or preference reference through pointers to
// its fields, which both matcher types share.
func (g *generator) matcher(name, kind, revision, infer *string, policy **virtv1.InferFromVolumeFailurePolicy,
	volumes []virtv1.Volume, kinds ...string) {
	if len(volumes) > 0 && g.chance(.3) {
		*infer = volumes[g.intn(len(volumes))].Name
	} else {
		*name = g.label()
		*kind = pick(g, append(kinds, "")...)
		*revision = pick(g, "", g.name("rev"))
	}
	if g.chance(.5) {
		*policy = ptrTo(pick(g, virtv1.RejectInferFromVolumeFailure, virtv1.IgnoreInferFromVolumeFailure))
	}
}

// dataVolumeTemplate builds a template whose target is pvc or storage and
// which is populated by exactly one import source, a DataSource reference
// or an external populator.
func (g *generator) dataVolumeTemplate(namespace string) virtv1.DataVolumeTemplateSpec {
	dvt := virtv1.DataVolumeTemplateSpec{ObjectMeta: g.templateMeta()}
	dvt.APIVersion = "cdi.kubevirt.io/v1beta1"
	dvt.Kind = "DataVolume"
	dvt.Name = g.name("dv")
	dvt.Namespace = pick(g, "", namespace)
	if g.chance(.3) {
		dvt.Status = &virtv1.DataVolumeTemplateDummyStatus{}
	}

	// Fill everything, then keep one target and one way to populate it.
	spec := &dvt.Spec
	g.fill(spec)
	spec.PriorityClassName = pick(g, "", g.label())
	spec.ContentType = pick(g, "", cdiv1.DataVolumeKubeVirt, cdiv1.DataVolumeArchive)
	var dataSource **corev1.TypedLocalObjectReference
	var dataSourceRef **corev1.TypedObjectReference
	if g.chance(.5) {
		spec.Storage = nil
		spec.PVC = orNew(spec.PVC)
		dataSource, dataSourceRef = &spec.PVC.DataSource, &spec.PVC.DataSourceRef
	} else {
		spec.PVC = nil
		spec.Storage = orNew(spec.Storage)
		dataSource, dataSourceRef = &spec.Storage.DataSource, &spec.Storage.DataSourceRef
	}

	switch g.intn(4) {
	case 0: // an external populator fills the claim
		spec.Source, spec.SourceRef = nil, nil
		if *dataSource == nil && *dataSourceRef == nil {
			*dataSourceRef = &corev1.TypedObjectReference{Kind: "VolumeImportSource", Name: g.label()}
		}
	case 1:
		*dataSource, *dataSourceRef = nil, nil
		spec.Source = nil
		spec.SourceRef = orNew(spec.SourceRef)
		spec.SourceRef.Kind = cdiv1.DataVolumeDataSource
		spec.SourceRef.Name = g.label()
	default:
		*dataSource, *dataSourceRef = nil, nil
		spec.SourceRef = nil
		spec.Source = &cdiv1.DataVolumeSource{}
		g.keepOneImportSource(spec.Source)
	}
	return dvt
}

// keepOneImportSource keeps a single filled import source.
func (g *generator) keepOneImportSource(src *cdiv1.DataVolumeSource) {
	keep := g.intn(10)
	// Fill all sources, so that the kept one has its fields set.
	full := &cdiv1.DataVolumeSource{}
	g.fill(full)
	*src = cdiv1.DataVolumeSource{}
	switch keep {
	case 0:
		src.HTTP = orNew(full.HTTP)
	case 1:
		src.S3 = orNew(full.S3)
	case 2:
		src.GCS = orNew(full.GCS)
	case 3:
		src.Registry = orNew(full.Registry)
	case 4:
		src.PVC = orNew(full.PVC)
	case 5:
		src.Upload = &cdiv1.DataVolumeSourceUpload{}
	case 6:
		src.Blank = &cdiv1.DataVolumeBlankImage{}
	case 7:
		src.Imageio = orNew(full.Imageio)
	case 8:
		src.VDDK = orNew(full.VDDK)
	default:
		src.Snapshot = orNew(full.Snapshot)
	}
}

func ptrTo[T any](v T) *T { return &v }

// orNew returns p, or a new zero value when p is nil.
func orNew[T any](p *T) *T {
	if p == nil {
		return new(T)
	}
	return p
}
