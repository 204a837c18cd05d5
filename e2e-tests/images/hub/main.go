// A model hub for the e2e tests: serves the files under -root the way the Hugging Face hub's
// resolve endpoint does, GET {owner}/{repo}/resolve/{revision}/{path}, from {root}/{owner}/{repo}/{path}
// (every revision names the same files). Range requests resume downloads; the sha256 of a file
// is sent as its linked ETag, as the hub does for LFS files, so the worker checks what it got.
// A missing file is a 404 with the hub's X-Error-Code, so the worker's "model not found" path
// is the real one.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

type hub struct {
	root   string
	rate   int64
	mu     sync.Mutex
	hashes map[string]string // file path -> sha256, computed once per file and modification time
}

func main() {
	addr := flag.String("listen", ":8080", "address to listen on")
	root := flag.String("root", "/models", "folder holding {owner}/{repo}/{file}")
	rate := flag.Int64("rate", 0, "bytes per second each download is held to, like a real hub's link (0: unlimited)")
	flag.Parse()
	h := &hub{root: *root, rate: *rate, hashes: map[string]string{}}
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	// PID 1 in its container: stop at once on SIGTERM instead of waiting out the grace period.
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		os.Exit(0)
	}()
	log.Printf("hub: serving %s on %s", *root, *addr)
	log.Fatal(srv.ListenAndServe())
}

func (h *hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/healthz" {
		io.WriteString(w, "ok\n")
		return
	}
	// owner / repo / "resolve" / revision / path...
	parts := strings.SplitN(strings.TrimPrefix(path.Clean(r.URL.Path), "/"), "/", 5)
	if len(parts) < 5 || parts[2] != "resolve" || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		w.Header().Set("X-Error-Code", "RepoNotFound")
		http.Error(w, "not a resolve URL", http.StatusNotFound)
		return
	}
	file := filepath.Join(h.root, parts[0], parts[1], filepath.FromSlash(parts[4]))
	f, err := os.Open(file)
	if err != nil {
		log.Printf("hub: %s %s: 404", r.Method, r.URL.Path)
		w.Header().Set("X-Error-Code", "EntryNotFound")
		w.Header().Set("X-Error-Message", "Entry not found")
		http.Error(w, "Entry not found", http.StatusNotFound)
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || info.IsDir() {
		w.Header().Set("X-Error-Code", "EntryNotFound")
		http.Error(w, "Entry not found", http.StatusNotFound)
		return
	}
	sum, err := h.sha256(file, info)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("X-Repo-Commit", strings.Repeat("0", 40))
	w.Header().Set("X-Linked-Size", strconv.FormatInt(info.Size(), 10))
	w.Header().Set("X-Linked-Etag", `"`+sum+`"`)
	w.Header().Set("ETag", `"`+sum+`"`)
	w.Header().Set("Content-Type", "application/octet-stream")
	log.Printf("hub: %s %s range=%q", r.Method, r.URL.Path, r.Header.Get("Range"))
	// ServeContent answers HEAD, Range (206/416) and conditional requests.
	if h.rate > 0 {
		w = &throttled{ResponseWriter: w, rate: h.rate, start: time.Now()}
	}
	http.ServeContent(w, r, "", info.ModTime(), f)
}

// throttled holds a response body to a rate, so that a download takes long enough for its
// progress to be seen (a loopback copy of a 100 MB model is otherwise over in a blink).
type throttled struct {
	http.ResponseWriter
	rate    int64
	start   time.Time
	written int64
}

func (t *throttled) Write(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		chunk := p[n:]
		if int64(len(chunk)) > t.rate/10+1 {
			chunk = chunk[:t.rate/10+1]
		}
		m, err := t.ResponseWriter.Write(chunk)
		n += m
		t.written += int64(m)
		if err != nil {
			return n, err
		}
		due := t.start.Add(time.Duration(float64(t.written) / float64(t.rate) * float64(time.Second)))
		if wait := time.Until(due); wait > 0 {
			time.Sleep(wait)
		}
	}
	return n, nil
}

func (h *hub) sha256(file string, info os.FileInfo) (string, error) {
	key := file + "@" + info.ModTime().String() + "/" + strconv.FormatInt(info.Size(), 10)
	h.mu.Lock()
	defer h.mu.Unlock()
	if s, ok := h.hashes[key]; ok {
		return s, nil
	}
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	d := sha256.New()
	if _, err := io.Copy(d, f); err != nil {
		return "", err
	}
	s := hex.EncodeToString(d.Sum(nil))
	h.hashes[key] = s
	return s, nil
}
