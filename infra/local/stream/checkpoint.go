package stream

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"sync"
)

// checkpointFile is what Options.Checkpoint holds: where each shard of one
// stream stands.
type checkpointFile struct {
	StreamARN string                     `json:"streamArn"`
	Shards    map[string]shardCheckpoint `json:"shards"`
}

// shardCheckpoint is where one shard stands.
type shardCheckpoint struct {
	// SequenceNumber is the last record the handler processed.
	SequenceNumber string `json:"sequenceNumber,omitempty"`
	// Latest: the shard was started at LATEST and has delivered nothing
	// since, so a restart starts it at LATEST again rather than replaying
	// the records that were there before.
	Latest bool `json:"latest,omitempty"`
	// Finished: the shard is closed and every record in it processed (or,
	// under LATEST, it was closed before the mapping started); its children
	// may start.
	Finished bool `json:"finished,omitempty"`
}

// checkpoint is the progress of a Run, kept in memory and, when it has a
// path, in that file after every change, so that a restarted runner goes on
// where this one stopped. Shard goroutines share it.
type checkpoint struct {
	path string
	log  *slog.Logger

	mu   sync.Mutex
	file checkpointFile
	// resumed: the file was this stream's, so Options.StartingPosition,
	// which only applies to a mapping's first start, does not.
	resumed bool
}

// loadCheckpoint reads the checkpoint at path for the stream streamARN. No
// path, no file, and a file of another stream (the table was recreated, and
// the old stream's positions mean nothing in the new one) all start afresh.
// A file that cannot be read or parsed is an error: starting over silently
// would deliver every record again.
func loadCheckpoint(path, streamARN string, log *slog.Logger) (*checkpoint, error) {
	c := &checkpoint{path: path, log: log, file: checkpointFile{StreamARN: streamARN, Shards: map[string]shardCheckpoint{}}}
	if path == "" {
		return c, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	var f checkpointFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w (delete it to start from the starting position)", path, err)
	}
	if f.StreamARN != streamARN {
		log.Info("stream: the checkpoint is of another stream (the table was recreated); starting afresh",
			"checkpoint", path, "checkpointStream", f.StreamARN, "stream", streamARN)
		return c, nil
	}
	if f.Shards != nil {
		c.file.Shards = f.Shards
	}
	c.resumed = true
	return c, nil
}

// shard returns where shard id stands, and whether the checkpoint knows it.
func (c *checkpoint) shard(id string) (shardCheckpoint, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.file.Shards[id]
	return s, ok
}

// shards returns a copy of every shard's standing.
func (c *checkpoint) shards() map[string]shardCheckpoint {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.file.Shards)
}

// processed records that the handler processed shard id up to seq.
func (c *checkpoint) processed(id, seq string) {
	c.update(func(s map[string]shardCheckpoint) bool {
		s[id] = shardCheckpoint{SequenceNumber: seq}
		return true
	})
}

// latest records that shard id started at LATEST.
func (c *checkpoint) latest(id string) {
	c.update(func(s map[string]shardCheckpoint) bool {
		s[id] = shardCheckpoint{Latest: true}
		return true
	})
}

// finished records that shard id has nothing more to deliver.
func (c *checkpoint) finished(id string) {
	c.update(func(s map[string]shardCheckpoint) bool {
		cp := s[id]
		cp.Finished, cp.Latest = true, false
		s[id] = cp
		return true
	})
}

// prune forgets the shards that the stream no longer lists: DynamoDB
// trimmed them, so no position in them can be used again, and the file
// stays as small as the stream.
func (c *checkpoint) prune(listed map[string]bool) {
	c.update(func(s map[string]shardCheckpoint) bool {
		n := len(s)
		maps.DeleteFunc(s, func(id string, _ shardCheckpoint) bool { return !listed[id] })
		return len(s) != n
	})
}

// update applies change and, when it changed something, writes the file.
// A failed write is logged, not returned: delivery goes on, and a restart
// would deliver again what the file lacks, which is what a handler of a
// stream must bear anyway.
func (c *checkpoint) update(change func(map[string]shardCheckpoint) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !change(c.file.Shards) || c.path == "" {
		return
	}
	if err := c.write(); err != nil {
		c.log.Warn("stream: checkpoint not written; a restart may deliver records again", "checkpoint", c.path, "err", err)
	}
}

// write replaces the file atomically: a crash leaves the old or the new
// checkpoint, never half of one.
func (c *checkpoint) write() error {
	b, err := json.MarshalIndent(c.file, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(c.path)
	f, err := os.CreateTemp(dir, filepath.Base(c.path)+".*.tmp")
	if err != nil {
		return err
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), c.path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
