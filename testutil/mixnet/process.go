package mixnet

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/node"
)

// envNodeHome tells a re-executed test binary to be a nym-node.
const envNodeHome = "NYX_TESTNET_NODE_HOME"

// RunNodeProcess makes the test binary double as nym-node: call it first in
// TestMain. In the harness's child processes it runs the node of the home
// named in the environment until SIGTERM, then exits; otherwise it returns
// at once.
func RunNodeProcess() {
	home := os.Getenv(envNodeHome)
	if home == "" {
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := node.Run(ctx, home, node.Options{}); err != nil {
		fmt.Fprintln(os.Stderr, "nym-node:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

type process struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// StartProcess runs the node as a separate process (the test binary,
// re-executed) and waits until its HTTP health endpoint answers. Its logs go
// to node.log in its home.
func (nw *Network) StartProcess(n *Node) error {
	logf, err := os.OpenFile(filepath.Join(n.Home, "node.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envNodeHome+"="+n.Home)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start node process: %w", err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	n.mu.Lock()
	n.proc = p
	n.mu.Unlock()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(n.HTTPURL() + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.done:
			log, _ := os.ReadFile(filepath.Join(n.Home, "node.log"))
			return fmt.Errorf("node process exited: %s", log)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("node process not healthy after 30s: %v", err)
		}
	}
}

// KillNode SIGKILLs a node running as a process and waits for it to die.
func (nw *Network) KillNode(n *Node) error {
	n.mu.Lock()
	p := n.proc
	n.proc = nil
	n.mu.Unlock()
	if p == nil {
		return fmt.Errorf("node %d is not a running process", n.Index)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	<-p.done
	return nil
}

func (p *process) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}
