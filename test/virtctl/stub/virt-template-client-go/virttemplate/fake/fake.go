// Package fake exists so that the module graph of virtctl's tests resolves;
// it declares nothing. See the README three directories up.
package fake
