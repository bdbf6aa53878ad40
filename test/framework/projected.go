package framework

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// dataLink is the symlink a ProjectedDir swaps, as kubelet names it.
const dataLink = "..data"

// ProjectedDir is a directory whose files are replaced all at once, the
// way kubelet projects a Secret or ConfigMap volume into a pod and
// cert-manager's CSI driver writes certificates:
//
//	dir/..2026_12_07_06_40_00.123456789/tls.crt  the files of one version
//	dir/..data -> ..2026_12_07_06_40_00.123456789
//	dir/tls.crt -> ..data/tls.crt                what programs open
//
// Write puts a new version in a new timestamped directory, points a
// temporary symlink at it and renames that over ..data (one atomic
// rename), then removes the old version's directory. A reader sees the old
// files or the new ones, never a mix, and the removal of the old files is
// the event that inotify reports on the paths programs watch.
type ProjectedDir struct {
	Dir string
}

// NewProjectedDir creates dir (if need be) and writes the first version.
func NewProjectedDir(dir string, files map[string][]byte) (*ProjectedDir, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	p := &ProjectedDir{Dir: dir}
	return p, p.Write(files)
}

// Path is the path programs open for file name: dir/name, a symlink into
// the current version.
func (p *ProjectedDir) Path(name string) string { return filepath.Join(p.Dir, name) }

// Write replaces every file at once with files (name -> content). Names
// must be plain file names. Files of the old version that files lacks are
// removed.
func (p *ProjectedDir) Write(files map[string][]byte) error {
	for name := range files {
		if name == "" || strings.HasPrefix(name, "..") || strings.ContainsRune(name, filepath.Separator) {
			return fmt.Errorf("projected file name %q: want a plain name", name)
		}
	}
	old, err := os.Readlink(filepath.Join(p.Dir, dataLink))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	oldNames, err := p.names(old)
	if err != nil {
		return err
	}

	// 1. The new version, in a directory of its own.
	version, err := os.MkdirTemp(p.Dir, time.Now().UTC().Format("..2006_01_02_15_04_05."))
	if err != nil {
		return err
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(version, name), data, 0o600); err != nil {
			return err
		}
	}
	// 2. ..data points at it: a temporary symlink renamed over ..data.
	tmp := filepath.Join(p.Dir, "..data_tmp")
	_ = os.Remove(tmp)
	if err := os.Symlink(filepath.Base(version), tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(p.Dir, dataLink)); err != nil {
		return err
	}
	// 3. A symlink for each new name; names that went away are removed.
	for name := range files {
		link := p.Path(name)
		if _, err := os.Lstat(link); err == nil {
			continue
		}
		if err := os.Symlink(filepath.Join(dataLink, name), link); err != nil {
			return err
		}
	}
	for _, name := range oldNames {
		if _, ok := files[name]; !ok {
			if err := os.Remove(p.Path(name)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	// 4. The old version goes.
	if old != "" {
		return os.RemoveAll(filepath.Join(p.Dir, old))
	}
	return nil
}

// Versions lists the timestamped directories, oldest first; after a Write
// there is exactly one.
func (p *ProjectedDir) Versions() ([]string, error) {
	entries, err := os.ReadDir(p.Dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), "..") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// names lists the files of a version directory (none if version is empty).
func (p *ProjectedDir) names(version string) ([]string, error) {
	if version == "" {
		return nil, nil
	}
	entries, err := os.ReadDir(filepath.Join(p.Dir, version))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out, nil
}
