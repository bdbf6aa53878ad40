// Command servedkinds-gen runs k8s.io/code-generator's lister, informer and
// apply-configuration generators on KubeVirt's published API package for the
// kinds that vm-apiserver serves, and for no other kind.
//
// kubevirt.io/api/core/v1 marks VirtualMachineInstances, migrations, the
// KubeVirt CR and more with +genclient, and those generators have no flag to
// pick types (client-gen has --included-types-overrides). This command loads
// the packages as the generators do, removes the +genclient tags of every
// kind that is not served, and then hands the universe to the unchanged
// generator. Usage:
//
//	servedkinds-gen GENERATOR --served-kinds VirtualMachine [generator flags] PACKAGES...
//
// where GENERATOR is lister, informer or applyconfiguration.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"
	applyargs "k8s.io/code-generator/cmd/applyconfiguration-gen/args"
	applygen "k8s.io/code-generator/cmd/applyconfiguration-gen/generators"
	informerargs "k8s.io/code-generator/cmd/informer-gen/args"
	informergen "k8s.io/code-generator/cmd/informer-gen/generators"
	listerargs "k8s.io/code-generator/cmd/lister-gen/args"
	listergen "k8s.io/code-generator/cmd/lister-gen/generators"
	"k8s.io/code-generator/pkg/util"
	"k8s.io/gengo/v2"
	"k8s.io/gengo/v2/generator"
	"k8s.io/gengo/v2/namer"
	"k8s.io/gengo/v2/types"
	"k8s.io/klog/v2"
)

// generatorSpec is one generator's flags and entry points.
type generatorSpec struct {
	addFlags   func(fs *pflag.FlagSet)
	validate   func() error
	nameSystem func() namer.NameSystems
	// defaultName is the generator's default name system.
	defaultName string
	targets     func(*generator.Context) []generator.Target
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: servedkinds-gen lister|informer|applyconfiguration --served-kinds KIND[,KIND] [flags] PACKAGES...")
		os.Exit(2)
	}
	spec, err := specFor(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}

	klog.InitFlags(nil)
	fs := pflag.NewFlagSet(os.Args[0], pflag.ExitOnError)
	var served []string
	fs.StringSliceVar(&served, "served-kinds", nil, "the kinds whose +genclient tags are kept; every other kind loses its tags")
	spec.addFlags(fs)
	fs.AddGoFlagSet(flag.CommandLine)
	if err := fs.Parse(os.Args[2:]); err != nil {
		klog.Fatalf("Error: %v", err)
	}
	if len(served) == 0 {
		klog.Fatalf("Error: --served-kinds is required")
	}
	if err := spec.validate(); err != nil {
		klog.Fatalf("Error: %v", err)
	}

	targets := func(ctx *generator.Context) []generator.Target {
		keepServedKinds(ctx, fs.Args(), served)
		return spec.targets(ctx)
	}
	if err := gengo.Execute(spec.nameSystem(), spec.defaultName, targets, gengo.StdBuildTag, fs.Args()); err != nil {
		klog.Fatalf("Error: %v", err)
	}
}

func specFor(name string) (generatorSpec, error) {
	switch name {
	case "lister":
		args := listerargs.New()
		return generatorSpec{
			addFlags: args.AddFlags,
			validate: args.Validate,
			nameSystem: func() namer.NameSystems {
				return listergen.NameSystems(util.PluralExceptionListToMapOrDie(args.PluralExceptions))
			},
			defaultName: listergen.DefaultNameSystem(),
			targets:     func(ctx *generator.Context) []generator.Target { return listergen.GetTargets(ctx, args) },
		}, nil
	case "informer":
		args := informerargs.New()
		return generatorSpec{
			addFlags: args.AddFlags,
			validate: args.Validate,
			nameSystem: func() namer.NameSystems {
				return informergen.NameSystems(util.PluralExceptionListToMapOrDie(args.PluralExceptions))
			},
			defaultName: informergen.DefaultNameSystem(),
			targets:     func(ctx *generator.Context) []generator.Target { return informergen.GetTargets(ctx, args) },
		}, nil
	case "applyconfiguration":
		args := applyargs.New()
		var externalPkgs []string
		return generatorSpec{
			addFlags: func(fs *pflag.FlagSet) {
				args.AddFlags(fs, "")
				fs.StringSliceVar(&externalPkgs, "external-package", nil,
					"PKG:APPLYPKG: every struct type of PKG has its apply configuration in APPLYPKG (as k8s.io/api's types have theirs in k8s.io/client-go)")
			},
			validate:    args.Validate,
			nameSystem:  applygen.NameSystems,
			defaultName: applygen.DefaultNameSystem(),
			targets: func(ctx *generator.Context) []generator.Target {
				addExternalPackages(ctx, args.ExternalApplyConfigurations, externalPkgs)
				return applygen.GetTargets(ctx, args)
			},
		}, nil
	}
	return generatorSpec{}, fmt.Errorf("unknown generator %q: want lister, informer or applyconfiguration", name)
}

// addExternalPackages maps every struct type of each PKG named in mappings
// ("PKG:APPLYPKG") to its apply configuration in APPLYPKG, so that the
// generated apply configurations use client-go's for Kubernetes' own types
// instead of generating copies or embedding the plain structs.
func addExternalPackages(ctx *generator.Context, externals map[types.Name]string, mappings []string) {
	for _, mapping := range mappings {
		src, dst, ok := strings.Cut(mapping, ":")
		if !ok {
			klog.Fatalf("Error: --external-package %q is not of the form PKG:APPLYPKG", mapping)
		}
		for name, t := range ctx.Universe.Package(src).Types {
			if t.Kind == types.Struct && !strings.HasSuffix(name, "List") {
				externals[t.Name] = dst
			}
		}
	}
}

// keepServedKinds drops the +genclient tags (and their +genclient:... forms)
// from every type of the input packages whose name is not in served. The
// generators find their kinds by those tags, so the unserved kinds get no
// lister, informer or apply configuration, and no apply configuration is made
// for types that only they reach.
func keepServedKinds(ctx *generator.Context, inputs, served []string) {
	keep := map[string]bool{}
	for _, kind := range served {
		keep[kind] = true
	}
	for _, path := range inputs {
		pkg := ctx.Universe.Package(path)
		for name, t := range pkg.Types {
			if keep[name] {
				continue
			}
			t.CommentLines = withoutGenclient(t.CommentLines)
			t.SecondClosestCommentLines = withoutGenclient(t.SecondClosestCommentLines)
		}
	}
}

func withoutGenclient(lines []string) []string {
	var out []string
	for _, line := range lines {
		if strings.HasPrefix(strings.TrimSpace(line), "+genclient") {
			continue
		}
		out = append(out, line)
	}
	return out
}
