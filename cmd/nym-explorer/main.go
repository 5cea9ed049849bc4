// Command nym-explorer serves a read-only web view of a Nyx network, read from
// nyxd's gRPC: the epoch, the topology, every node, an address's delegations
// and the credential counts (see package sidecar/explorer).
//
//	nym-explorer --grpc 127.0.0.1:9090 --listen 127.0.0.1:8080
//
// It keeps no files and holds no keys, so it takes flags instead of a home
// directory and config file.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/explorer"
	"github.com/nyx-privacy/nyx/sidecar/topology"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("nym-explorer", flag.ContinueOnError)
	grpcAddr := fs.String("grpc", "127.0.0.1:9090", "nyxd's gRPC address (host:port)")
	listen := fs.String("listen", "127.0.0.1:8080", "address the pages are served on")
	refresh := fs.Duration("refresh", explorer.DefaultRefresh, "how often the network is read again")
	history := fs.Int("history-epochs", explorer.DefaultHistoryEpochs, "epochs of performance and rewards kept per node")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *refresh < 100*time.Millisecond || *refresh > time.Hour {
		return fmt.Errorf("--refresh %s: want between 100ms and 1h", *refresh)
	}
	if *history < 1 || *history > 10_000 {
		return fmt.Errorf("--history-epochs %d: want 1 to 10000", *history)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	conn, err := topology.Dial(*grpcAddr)
	if err != nil {
		return err
	}
	defer conn.Close()
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *listen, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	src := explorer.NewSource(conn, explorer.Config{Refresh: *refresh, HistoryEpochs: *history, Logger: log})
	go src.Run(ctx)
	log.Info("explorer serving", "url", "http://"+l.Addr().String()+"/", "grpc", *grpcAddr)
	return explorer.Serve(ctx, l, explorer.NewHandler(src))
}
