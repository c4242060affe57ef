//go:build unix

package mcpx

import "syscall"

// open reports whether an idle connection can still carry a request: the
// server has neither closed it nor sent anything unasked. It peeks without
// blocking, so it costs one system call.
func (c *rawConn) open() bool {
	if c.br.Buffered() > 0 {
		return false
	}
	raw := c.sc
	if raw == nil {
		_, isSys := c.c.(syscall.Conn)
		return !isSys // a connection without a descriptor cannot be peeked
	}
	alive := false
	var b [1]byte
	rerr := raw.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// Nothing to read (EAGAIN) is the healthy idle state; 0 bytes is
		// the server's close; data or another error is unusable.
		alive = n < 0 && (err == syscall.EAGAIN || err == syscall.EWOULDBLOCK)
		return true
	})
	return rerr == nil && alive
}
