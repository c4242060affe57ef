package mcpx

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// ErrMessageTooLarge is the read error when a server sends a message
// longer than the manager's MaxMessageBytes; the session ends and the
// server is reconnected.
var ErrMessageTooLarge = errors.New("MCP message exceeds the size limit")

// limitedLines passes a newline-delimited stream through, failing once a
// single line grows past max bytes. The SDK does the JSON-RPC framing; this
// only bounds how much one message may make us buffer.
type limitedLines struct {
	r   io.ReadCloser
	max int
	cur int
}

func (l *limitedLines) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	b := p[:n]
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			l.cur += len(b)
			break
		}
		l.cur += i
		if l.cur > l.max {
			break
		}
		l.cur = 0
		b = b[i+1:]
	}
	if l.cur > l.max {
		return 0, fmt.Errorf("%w (%d bytes)", ErrMessageTooLarge, l.max)
	}
	return n, err
}

func (l *limitedLines) Close() error { return l.r.Close() }

// stdioProcess is a running stdio server: we own the process so we can
// bound its output and end its whole process group on close.
type stdioProcess struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	exited chan struct{}
	once   sync.Once
}

// startStdio starts cmd and returns the transport to speak MCP over its
// standard streams.
func startStdio(cmd *exec.Cmd, maxMessage int) (*stdioProcess, mcp.Transport, error) {
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("starting %s: %w", cmd.Path, err)
	}
	p := &stdioProcess{cmd: cmd, stdin: stdin, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	t := &mcp.IOTransport{Reader: &limitedLines{r: stdout, max: maxMessage}, Writer: stdin}
	return p, t, nil
}

// stop closes the server's input and gives it grace to exit, then sends
// SIGTERM and finally SIGKILL to its process group. Children the server
// left behind in its group are killed too.
func (p *stdioProcess) stop(grace time.Duration) {
	p.once.Do(func() {
		_ = p.stdin.Close()
		select {
		case <-p.exited:
		case <-time.After(grace):
			signalGroup(p.cmd, syscall.SIGTERM)
			select {
			case <-p.exited:
			case <-time.After(grace):
			}
		}
		killProcessGroup(p.cmd)
		<-p.exited
	})
}
