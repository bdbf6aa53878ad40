package framework

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
)

func TestProjectedDirLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	p, err := NewProjectedDir(dir, map[string][]byte{"tls.crt": []byte("one"), "old.txt": []byte("x")})
	require.NoError(t, err)
	first, err := p.Versions()
	require.NoError(t, err)
	require.Len(t, first, 1)

	link, err := os.Readlink(p.Path("tls.crt"))
	require.NoError(t, err)
	assert.Equal(t, filepath.Join("..data", "tls.crt"), link, "programs open a symlink through ..data")
	data, err := os.Readlink(filepath.Join(dir, "..data"))
	require.NoError(t, err)
	assert.Equal(t, first[0], data)
	got, err := os.ReadFile(p.Path("tls.crt"))
	require.NoError(t, err)
	assert.Equal(t, "one", string(got))

	require.NoError(t, p.Write(map[string][]byte{"tls.crt": []byte("two"), "tls.key": []byte("k")}))
	got, err = os.ReadFile(p.Path("tls.crt"))
	require.NoError(t, err)
	assert.Equal(t, "two", string(got))
	got, err = os.ReadFile(p.Path("tls.key"))
	require.NoError(t, err)
	assert.Equal(t, "k", string(got))
	_, err = os.Lstat(p.Path("old.txt"))
	assert.ErrorIs(t, err, os.ErrNotExist, "a file the new version lacks is gone")
	second, err := p.Versions()
	require.NoError(t, err)
	require.Len(t, second, 1, "the old version is removed")
	assert.NotEqual(t, first, second)
	_, err = os.Lstat(filepath.Join(dir, "..data_tmp"))
	assert.ErrorIs(t, err, os.ErrNotExist, "the temporary link was renamed")

	assert.Error(t, p.Write(map[string][]byte{"../escape": nil}))
	assert.Error(t, p.Write(map[string][]byte{"..data": nil}))
}

// TestProjectedDirReloads checks what the reliability suite relies on: a
// k8s.io/apiserver file watcher, running as the servers run it, sees a
// Write without any hook.
func TestProjectedDirReloads(t *testing.T) {
	first, second := NewCA("first").CertPEM, NewCA("second").CertPEM
	p, err := NewProjectedDir(filepath.Join(t.TempDir(), "ca"), map[string][]byte{"ca.crt": first})
	require.NoError(t, err)
	ca, err := dynamiccertificates.NewDynamicCAContentFromFile("test", p.Path("ca.crt"))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go ca.Run(ctx, 1)
	assert.Equal(t, first, ca.CurrentCABundleContent())
	// Write once the watch is up, so that the watch sees the change, not
	// the check the controller makes when it starts.
	time.Sleep(500 * time.Millisecond)

	require.NoError(t, p.Write(map[string][]byte{"ca.crt": second}))
	assert.Eventually(t, func() bool { return string(ca.CurrentCABundleContent()) == string(second) },
		20*time.Second, 50*time.Millisecond, "the watcher never saw the new version")
}

// TestSwapAloneIsNotSeen shows why Write removes the old version: the
// watcher watches the file a symlink points to, so a ..data swap that left
// the old files in place is not seen (k8s.io/apiserver v0.37 has no
// periodic re-read); removing them is what triggers the reload.
func TestSwapAloneIsNotSeen(t *testing.T) {
	first, second := NewCA("first").CertPEM, NewCA("second").CertPEM
	dir := t.TempDir()
	write := func(version string, data []byte) {
		require.NoError(t, os.Mkdir(filepath.Join(dir, version), 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(dir, version, "ca.crt"), data, 0o600))
		require.NoError(t, os.Symlink(version, filepath.Join(dir, "..data_tmp")))
		require.NoError(t, os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")))
	}
	write("..v1", first)
	require.NoError(t, os.Symlink(filepath.Join("..data", "ca.crt"), filepath.Join(dir, "ca.crt")))
	ca, err := dynamiccertificates.NewDynamicCAContentFromFile("test", filepath.Join(dir, "ca.crt"))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go ca.Run(ctx, 1)
	time.Sleep(500 * time.Millisecond)

	write("..v2", second)
	time.Sleep(2 * time.Second)
	assert.Equal(t, string(first), string(ca.CurrentCABundleContent()), "a swap alone was seen: Write's removal may be unneeded")
	require.NoError(t, os.RemoveAll(filepath.Join(dir, "..v1")))
	assert.Eventually(t, func() bool { return string(ca.CurrentCABundleContent()) == string(second) },
		20*time.Second, 50*time.Millisecond, "the removal of the old version was not seen")
}
