// Command local-kms serves github.com/nsmithuk/local-kms's KMS API on a
// loopback address only.
//
// Upstream's own main listens on ":"+$PORT, every interface, and has no
// setting for the address: anyone on the developer's network could ask it
// to decrypt the data keys of real bot tokens. This main builds the same
// database and request handler and serves them on -listen, which must be
// a loopback address. It takes flags rather than environment variables
// (and seeds no keys: Gatehouse creates its key through the API), so
// infra/emulator configures it in one visible place.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/nsmithuk/local-kms/src"
	"github.com/nsmithuk/local-kms/src/config"
	"github.com/nsmithuk/local-kms/src/data"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8001", "loopback address and port to serve on")
	dataPath := flag.String("data", "", "folder of the key database (required)")
	region := flag.String("region", "us-east-1", "region in the keys' ARNs")
	account := flag.String("account", "111122223333", "account id in the keys' ARNs")
	flag.Parse()
	if err := run(*listen, *dataPath, *region, *account); err != nil {
		fmt.Fprintln(os.Stderr, "local-kms:", err)
		os.Exit(1)
	}
}

func run(listen, dataPath, region, account string) error {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("-listen %q: %w", listen, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-listen %q: not a loopback address; the emulator holds real keys", listen)
	}
	if dataPath == "" {
		return fmt.Errorf("-data is required")
	}
	abs, err := filepath.Abs(dataPath)
	if err != nil {
		return err
	}
	config.AWSRegion, config.AWSAccountId, config.DatabasePath = region, account, abs
	database := data.NewDatabase(config.DatabasePath)
	defer database.Close()

	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	log.Printf("local-kms: serving on %s, keys in %s", ln.Addr(), abs)
	srv := &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { src.HandleRequest(w, r, database) }),
		ReadHeaderTimeout: 10 * time.Second,
	}
	return srv.Serve(ln)
}
