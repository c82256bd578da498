// The secured local Temporal server of `provisioner stack up --secure`: Temporal's own server
// (go.temporal.io/server, the version the Temporal CLI v1.5.1 dev server runs) with SQLite file
// persistence, serving gRPC only over TLS and asking every client for a certificate signed by the
// development CA. The CLI's `server start-dev` has no TLS options, hence this program. Development
// only: one process, all services, no UI, no authorizer beyond the client certificate.
//
// Started by stack/temporal.ts; every flag is required unless it has a default.
package main

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/pem"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"gopkg.in/yaml.v3"
)

const clusterName = "active"

// repeated collects a flag given more than once.
type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

type options struct {
	ip, dbFile, namespace, logLevel string
	port                            int
	// The PEM files of the development PKI: the CA that signs servers and clients, the server's
	// certificate and key (frontend and internode listeners; it carries clientAuth too, so the
	// services present it to each other), and the certificate of the system worker, which calls
	// the frontend like any other client (stack/temporal.ts gives it the server's own, so that
	// it is told apart from the clients of the development CA).
	caFile, certFile, keyFile, workerCertFile, workerKeyFile, serverName string
	// A file holding the API key every frontend call must carry (`authorization: Bearer <key>`),
	// read on each call (a rotated key holds at once); empty: no API key. The system worker's
	// calls (its certificate) need none.
	apiKeyFile    string
	dynamic       repeated
	sqlitePragmas repeated
}

func main() {
	var o options
	flag.StringVar(&o.ip, "ip", "127.0.0.1", "address the services bind on")
	flag.IntVar(&o.port, "port", 0, "frontend gRPC port (TLS)")
	flag.StringVar(&o.dbFile, "db-filename", "", "SQLite file; its schema is set up when it does not exist")
	flag.StringVar(&o.namespace, "namespace", "default", "namespace created at start when missing")
	flag.StringVar(&o.logLevel, "log-level", "warn", "debug, info, warn or error (JSON on stdout)")
	flag.StringVar(&o.caFile, "tls-ca", "", "CA certificate (PEM) that client and server certificates must chain to")
	flag.StringVar(&o.certFile, "tls-cert", "", "server certificate (PEM)")
	flag.StringVar(&o.keyFile, "tls-key", "", "server private key (PEM)")
	flag.StringVar(&o.workerCertFile, "tls-worker-cert", "", "client certificate (PEM) of the system worker")
	flag.StringVar(&o.workerKeyFile, "tls-worker-key", "", "client private key (PEM) of the system worker")
	flag.StringVar(&o.serverName, "tls-server-name", "localhost", "name the internal clients expect in the server certificate")
	flag.StringVar(&o.apiKeyFile, "api-key-file", "", "file holding the API key frontend calls must carry (re-read on each call)")
	flag.Var(&o.dynamic, "dynamic-config-value", "KEY=VALUE (YAML value), repeatable")
	flag.Var(&o.sqlitePragmas, "sqlite-pragma", "NAME=VALUE, repeatable")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintf(os.Stderr, "temporal-secure-server: %v\n", err)
		os.Exit(1)
	}
}

func run(o options) error {
	for name, v := range map[string]string{"port": fmt.Sprint(o.port), "db-filename": o.dbFile, "tls-ca": o.caFile, "tls-cert": o.certFile, "tls-key": o.keyFile, "tls-worker-cert": o.workerCertFile, "tls-worker-key": o.workerKeyFile} {
		if v == "" || v == "0" {
			return fmt.Errorf("-%s is required", name)
		}
	}
	conf, err := serverConfig(o)
	if err != nil {
		return err
	}
	dynamic, err := dynamicConfig(o.dynamic)
	if err != nil {
		return err
	}
	logger := log.NewZapLogger(log.BuildZapLogger(log.Config{Stdout: true, Level: o.logLevel, Format: "json"}))
	host := func(s primitives.ServiceName) static.Hosts {
		return static.SingleLocalHost(net.JoinHostPort(o.ip, fmt.Sprint(conf.Services[string(s)].RPC.GRPCPort)))
	}
	serverOptions := []temporal.ServerOption{
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(map[primitives.ServiceName]static.Hosts{
			primitives.FrontendService: host(primitives.FrontendService),
			primitives.HistoryService:  host(primitives.HistoryService),
			primitives.MatchingService: host(primitives.MatchingService),
			primitives.WorkerService:   host(primitives.WorkerService),
		}),
		temporal.WithLogger(logger),
		temporal.WithDynamicConfigClient(dynamic),
	}
	if o.apiKeyFile != "" {
		interceptor, err := apiKeyInterceptor(o.apiKeyFile, o.workerCertFile)
		if err != nil {
			return err
		}
		serverOptions = append(serverOptions, temporal.WithChainedFrontendGrpcInterceptors(interceptor))
	}
	server, err := temporal.NewServer(serverOptions...)
	if err != nil {
		return fmt.Errorf("building the server: %w", err)
	}
	if err := server.Start(); err != nil {
		return fmt.Errorf("starting the server: %w", err)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
	server.Stop()
	return nil
}

func serverConfig(o options) (*config.Config, error) {
	frontend := net.JoinHostPort(o.ip, fmt.Sprint(o.port))
	var conf config.Config
	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = o.ip

	// Every listener speaks TLS and asks for a client certificate from the dev CA. The internal
	// clients: services call each other with the server certificate (internode), and the system
	// worker calls the frontend (PublicClient below) with its own client certificate.
	serverTLS := config.ServerTLS{CertFile: o.certFile, KeyFile: o.keyFile, ClientCAFiles: []string{o.caFile}, RequireClientAuth: true}
	clientTLS := config.ClientTLS{ServerName: o.serverName, RootCAFiles: []string{o.caFile}}
	conf.Global.TLS = config.RootTLS{
		Internode:    config.GroupTLS{Server: serverTLS, Client: clientTLS},
		Frontend:     config.GroupTLS{Server: serverTLS, Client: clientTLS},
		SystemWorker: config.WorkerTLS{CertFile: o.workerCertFile, KeyFile: o.workerKeyFile, Client: clientTLS},
		// Certificates are re-read from their files this often, so a rotated file is served
		// without a restart.
		RefreshInterval: time.Minute,
	}

	sql, err := sqliteConfig(o)
	if err != nil {
		return nil, err
	}
	conf.Persistence.DefaultStore = "sqlite"
	conf.Persistence.VisibilityStore = "sqlite"
	conf.Persistence.NumHistoryShards = 1
	conf.Persistence.DataStores = map[string]config.DataStore{"sqlite": {SQL: sql}}

	httpPort, err := freePort(o.ip)
	if err != nil {
		return nil, err
	}
	conf.ClusterMetadata = &cluster.Config{
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{clusterName: {
			Enabled:                true,
			InitialFailoverVersion: 1,
			RPCAddress:             frontend,
			HTTPAddress:            net.JoinHostPort(o.ip, fmt.Sprint(httpPort)),
			ClusterID:              "5b0d3d4e-7c1a-4f0e-9a57-3e2f1c0b9d11", // any fixed UUID: one cluster, one file
		}},
	}
	conf.DCRedirectionPolicy.Policy = "noop"
	conf.Services = map[string]config.Service{}
	for _, name := range []string{"frontend", "history", "matching", "worker"} {
		var svc config.Service
		svc.RPC.BindOnIP = o.ip
		if name == "frontend" {
			svc.RPC.GRPCPort = o.port
			svc.RPC.HTTPPort = httpPort
		} else if svc.RPC.GRPCPort, err = freePort(o.ip); err != nil {
			return nil, err
		}
		conf.Services[name] = svc
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	conf.PublicClient.HostPort = frontend
	return &conf, nil
}

// sqliteConfig sets the schema up in a new file and creates the namespace when missing.
func sqliteConfig(o options) (*config.SQL, error) {
	sql := &config.SQL{PluginName: sqliteplugin.PluginName, DatabaseName: o.dbFile, ConnectAttributes: map[string]string{"mode": "rwc"}}
	for _, p := range o.sqlitePragmas {
		name, value, ok := strings.Cut(p, "=")
		if !ok {
			return nil, fmt.Errorf("-sqlite-pragma %q: want NAME=VALUE", p)
		}
		sql.ConnectAttributes[name] = value
	}
	if _, err := os.Stat(o.dbFile); os.IsNotExist(err) {
		if err := os.MkdirAll(filepath.Dir(o.dbFile), 0o700); err != nil {
			return nil, err
		}
		if err := sqliteschema.SetupSchema(sql); err != nil {
			return nil, fmt.Errorf("setting up the SQLite schema in %s: %w", o.dbFile, err)
		}
	}
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, o.namespace, false, nil)
	if err != nil {
		return nil, err
	}
	if err := sqliteschema.CreateNamespaces(sql, ns); err != nil {
		return nil, fmt.Errorf("creating the namespace %s: %w", o.namespace, err)
	}
	return sql, nil
}

func dynamicConfig(values []string) (dynamicconfig.StaticClient, error) {
	client := dynamicconfig.StaticClient{
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key():                 8096,
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 100,
	}
	for _, kv := range values {
		key, raw, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("-dynamic-config-value %q: want KEY=VALUE", kv)
		}
		var value any
		if err := yaml.Unmarshal([]byte(raw), &value); err != nil {
			return nil, fmt.Errorf("-dynamic-config-value %s: %w", key, err)
		}
		client[dynamicconfig.Key(key)] = value
	}
	return client, nil
}

// apiKeyInterceptor refuses frontend calls without the API key in the file, the way Temporal Cloud
// does (UNAUTHENTICATED). The health service and the system worker (it presents workerCertFile) pass.
func apiKeyInterceptor(keyFile, workerCertFile string) (grpc.UnaryServerInterceptor, error) {
	pemBytes, err := os.ReadFile(workerCertFile)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, fmt.Errorf("%s holds no PEM certificate", workerCertFile)
	}
	internal := block.Bytes
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if strings.HasPrefix(info.FullMethod, "/grpc.health.v1.") {
			return handler(ctx, req)
		}
		if p, ok := peer.FromContext(ctx); ok {
			if tlsInfo, ok := p.AuthInfo.(credentials.TLSInfo); ok && len(tlsInfo.State.PeerCertificates) > 0 && bytes.Equal(tlsInfo.State.PeerCertificates[0].Raw, internal) {
				return handler(ctx, req)
			}
		}
		want, err := os.ReadFile(keyFile)
		if err != nil || len(bytes.TrimSpace(want)) == 0 {
			return nil, status.Error(codes.Unavailable, "the server's API key file cannot be read")
		}
		got := metadata.ValueFromIncomingContext(ctx, "authorization")
		if len(got) != 1 || subtle.ConstantTimeCompare([]byte(got[0]), []byte("Bearer "+string(bytes.TrimSpace(want)))) != 1 {
			return nil, status.Error(codes.Unauthenticated, "missing or invalid API key")
		}
		return handler(ctx, req)
	}, nil
}

func freePort(ip string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return 0, fmt.Errorf("finding a free port on %s: %w", ip, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
