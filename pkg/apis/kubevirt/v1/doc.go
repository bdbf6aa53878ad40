// +groupName=kubevirt.io

// Package v1 registers kubevirt.io/v1, and the deprecated kubevirt.io/v1alpha3
// with the same Go types, in a scheme. Its wire types are not declared here:
// they are KubeVirt's own, from kubevirt.io/api/core/v1, so that every
// field, name and JSON shape is exactly KubeVirt's. What is here is the
// registration of the kinds this server serves and the conversions between
// those types and the internal shell.
package v1
