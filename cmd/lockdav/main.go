// Command lockdav serves a directory over WebDAV (RFC 4918 classes 1 and 2) with durable,
// queryable locks. main only wires: flags and config in, server.New, signals to Shutdown.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/lockdav/lockdav/config"
	"github.com/lockdav/lockdav/server"
)

// version is set at build time: go build -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	if err := rootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "lockdav:", err)
		os.Exit(1)
	}
}

func rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "lockdav",
		Short: "A WebDAV server with durable, queryable locks",
		Long: "lockdav serves a directory over WebDAV (RFC 4918 classes 1 and 2). Its locks are\n" +
			"exclusive or shared, depth 0 or infinity, timed, bound to the principal that took\n" +
			"them, and kept in a database that survives restarts.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(serveCmd())
	root.AddCommand(versionCmd())
	root.AddCommand(locksCmd())
	root.AddCommand(hashPasswordCmd())
	return root
}

// serveFlags are the command-line overrides of the config file.
type serveFlags struct {
	config, addr, root, stateDir string
}

func serveCmd() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve a directory over WebDAV",
		Long: "Serve a directory over WebDAV until SIGINT or SIGTERM, then finish in-flight requests\n" +
			"(for at most limits.shutdown_timeout), close the lock and property stores and exit 0.\n\n" +
			"Settings come from the defaults, then the --config file, then the flags below.\n" +
			"Without a file: root ./data, state dir ./state, address 127.0.0.1:8080.\n" +
			"See config.example.yaml for every key.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, f)
			if err != nil {
				return err
			}
			return serve(cfg)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.config, "config", "", "YAML config file (default: none, built-in defaults)")
	fl.StringVar(&f.addr, "addr", "", "host:port to listen on, overrides addr (default 127.0.0.1:8080; port 0 picks a free port)")
	fl.StringVar(&f.root, "root", "", "directory to serve, overrides root (default ./data)")
	fl.StringVar(&f.stateDir, "state-dir", "", "directory for the lock and property databases (locks.store: bolt), overrides state_dir (default ./state)")
	return cmd
}

// loadConfig reads the file (if any) and applies the flags that were set, then validates.
func loadConfig(cmd *cobra.Command, f serveFlags) (config.Config, error) {
	cfg := config.Default()
	if f.config != "" {
		var err error
		if cfg, err = config.Load(f.config); err != nil {
			return config.Config{}, err
		}
	}
	fl := cmd.Flags()
	if fl.Changed("addr") {
		cfg.Addr = f.addr
	}
	if fl.Changed("root") {
		cfg.Root = f.root
	}
	if fl.Changed("state-dir") {
		cfg.StateDir = f.stateDir
	}
	return cfg, cfg.Validate()
}

// serve runs the server until a signal or a serve error, then shuts it down.
func serve(cfg config.Config) error {
	log, logCloser, err := server.NewLogger(cfg.Log, os.Stderr)
	if err != nil {
		return err
	}
	defer logCloser.Close() // writes the lines still waiting for log.flush_interval
	log.Info().Str("addr", cfg.Addr).Str("root", cfg.Root).Str("state_dir", cfg.StateDir).
		Str("version", version).Msg("starting lockdav")
	srv, err := server.New(cfg, log)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()

	var serveErr error
	select {
	case serveErr = <-errc:
	case <-ctx.Done():
		stop() // a second signal now ends the process at once
		log.Info().Msg("signal received, shutting down")
	}
	sctx, cancel := context.WithTimeout(context.Background(), time.Duration(cfg.Limits.ShutdownTimeout))
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Error().Err(err).Msg("shutdown")
		return errors.Join(serveErr, err)
	}
	if serveErr == nil {
		serveErr = <-errc
	}
	if serveErr != nil {
		return serveErr
	}
	log.Info().Msg("stopped")
	return nil
}

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the lockdav version and the Go version it was built with",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintf(cmd.OutOrStdout(), "lockdav %s (%s %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		},
	}
}
