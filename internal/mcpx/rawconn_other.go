//go:build !unix

package mcpx

// open cannot peek on this platform; a closed idle connection then fails
// the call with the server's close instead of being dropped first.
func (c *rawConn) open() bool { return c.br.Buffered() == 0 }
