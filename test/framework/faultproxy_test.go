package framework

import (
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// echoServer echoes every byte back and counts what it received.
type echoServer struct {
	ln       net.Listener
	received atomic.Int64
	wg       sync.WaitGroup
}

func startEcho(t *testing.T) *echoServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	e := &echoServer{ln: ln}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			e.wg.Add(1)
			go func() {
				defer e.wg.Done()
				defer func() { _ = conn.Close() }()
				buf := make([]byte, 4096)
				for {
					n, err := conn.Read(buf)
					e.received.Add(int64(n))
					if n > 0 {
						if _, werr := conn.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() { _ = ln.Close() })
	return e
}

// roundTrip writes msg and reads len(msg) bytes back within timeout.
func roundTrip(conn net.Conn, msg string, timeout time.Duration) (string, error) {
	if _, err := conn.Write([]byte(msg)); err != nil {
		return "", err
	}
	_ = conn.SetReadDeadline(time.Now().Add(timeout))
	defer func() { _ = conn.SetReadDeadline(time.Time{}) }()
	buf := make([]byte, len(msg))
	_, err := io.ReadFull(conn, buf)
	return string(buf), err
}

func dialProxy(t *testing.T, p *FaultProxy) net.Conn {
	conn, err := net.Dial("tcp", p.Addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestFaultProxyPasses(t *testing.T) {
	e := startEcho(t)
	p := StartFaultProxy(t, e.ln.Addr().String())
	conn := dialProxy(t, p)
	got, err := roundTrip(conn, "hello", 5*time.Second)
	require.NoError(t, err)
	assert.Equal(t, "hello", got)
}

func TestFaultProxyBlackhole(t *testing.T) {
	for _, d := range []Direction{ToTarget, FromTarget, BothDirections} {
		t.Run(d.String(), func(t *testing.T) {
			e := startEcho(t)
			p := StartFaultProxy(t, e.ln.Addr().String())
			conn := dialProxy(t, p)
			_, err := roundTrip(conn, "before", 5*time.Second)
			require.NoError(t, err)

			p.Blackhole(d)
			_, err = roundTrip(conn, "lost", 500*time.Millisecond)
			assert.True(t, isTimeout(err), "a blackholed round trip timed out: %v", err)
			// Bytes to the target arrive only if that direction passes.
			wantReceived := int64(len("before"))
			if d&ToTarget == 0 {
				wantReceived += int64(len("lost"))
			}
			assert.Equal(t, wantReceived, e.received.Load())
			// A new connection is accepted but nothing goes through.
			fresh := dialProxy(t, p)
			_, err = roundTrip(fresh, "new", 500*time.Millisecond)
			assert.True(t, isTimeout(err), "a new blackholed connection passed: %v", err)

			// Heal resets the connections that lost bytes; new ones pass.
			p.Heal()
			_, err = roundTrip(conn, "after", 2*time.Second)
			assert.Error(t, err, "a connection that lost bytes was not reset")
			again := dialProxy(t, p)
			got, err := roundTrip(again, "healed", 5*time.Second)
			require.NoError(t, err)
			assert.Equal(t, "healed", got)
		})
	}
}

func TestFaultProxyReset(t *testing.T) {
	e := startEcho(t)
	p := StartFaultProxy(t, e.ln.Addr().String())
	conn := dialProxy(t, p)
	_, err := roundTrip(conn, "x", 5*time.Second)
	require.NoError(t, err)

	p.Reset()
	_, err = roundTrip(conn, "y", 5*time.Second)
	require.Error(t, err)
	assert.ErrorIs(t, err, syscall.ECONNRESET, "an open connection was reset")
	// New connections are reset at once until Heal: the reset may even
	// reach the dialer before its connect returns.
	if fresh, err := net.Dial("tcp", p.Addr); err != nil {
		assert.ErrorIs(t, err, syscall.ECONNRESET, "a new connection failed otherwise than by a reset")
	} else {
		t.Cleanup(func() { _ = fresh.Close() })
		_, err = roundTrip(fresh, "z", 5*time.Second)
		assert.Error(t, err, "a new connection was forwarded while resetting")
		assert.False(t, isTimeout(err), "a new connection hung instead of being reset: %v", err)
	}

	p.Heal()
	again := dialProxy(t, p)
	got, err := roundTrip(again, "ok", 5*time.Second)
	require.NoError(t, err)
	assert.Equal(t, "ok", got)
}

func TestFaultProxyClose(t *testing.T) {
	e := startEcho(t)
	p, err := NewFaultProxy(e.ln.Addr().String())
	require.NoError(t, err)
	conn := dialProxy(t, p)
	p.Blackhole(BothDirections)
	_, err = conn.Write([]byte("x"))
	require.NoError(t, err)
	done := make(chan struct{})
	go func() { p.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hung on a blackholed connection")
	}
	_, err = net.DialTimeout("tcp", p.Addr, time.Second)
	assert.Error(t, err, "the proxy still listens after Close")
}

func TestFaultProxyBlackholeSource(t *testing.T) {
	e := startEcho(t)
	p, err := NewFaultProxy(e.ln.Addr().String())
	require.NoError(t, err)
	p.SetIdentify(func(head []byte) string {
		src, _, _ := strings.Cut(string(head), "\r\n")
		return src
	})
	t.Cleanup(p.Close)
	a, b := dialProxy(t, p), dialProxy(t, p)
	for _, c := range []struct {
		conn net.Conn
		name string
	}{{a, "A"}, {b, "B"}} {
		got, err := roundTrip(c.conn, c.name+"\r\n\r\n", 5*time.Second)
		require.NoError(t, err)
		assert.Equal(t, c.name+"\r\n\r\n", got)
	}
	p.BlackholeSource("A")
	_, err = roundTrip(a, "a", 500*time.Millisecond)
	assert.True(t, isTimeout(err), "the isolated source passed: %v", err)
	got, err := roundTrip(b, "b", 5*time.Second)
	require.NoError(t, err)
	assert.Equal(t, "b", got, "another source was cut off")
	// A new connection from the isolated source is cut off too.
	a2 := dialProxy(t, p)
	_, err = roundTrip(a2, "A\r\n\r\n", 1500*time.Millisecond)
	assert.True(t, isTimeout(err), "a new connection of the isolated source passed: %v", err)

	p.Heal()
	a3 := dialProxy(t, p)
	got, err = roundTrip(a3, "A\r\n\r\n", 5*time.Second)
	require.NoError(t, err)
	assert.Equal(t, "A\r\n\r\n", got)
}
