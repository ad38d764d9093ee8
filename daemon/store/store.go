// Package store keeps nucleusd's durable records in a bbolt file under
// --root: containers (with a unique name index and an owner index), the
// bounded event log with its persistent sequence numbers, and schema meta.
// A corrupt file never stops the daemon: Open moves it aside and starts
// empty, and the daemon rebuilds its records from supervisors and runsc.
package store

import (
	"errors"
	"fmt"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Options tune Open. The zero value is usable.
type Options struct {
	// LockTimeout bounds the wait for another process's lock on the store
	// (another nucleusd running). Zero: 5s.
	LockTimeout time.Duration
	// EventsRetained is how many events AppendEvent keeps. Zero: 5000.
	EventsRetained int
	// MaxContainers caps the records CreateContainer accepts in total;
	// zero means no cap.
	MaxContainers int
	// MaxContainersPerOwner caps the records of one owner uid; zero means
	// no cap.
	MaxContainersPerOwner int
	// Now is the clock (quarantine names, event times). Nil: time.Now.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.LockTimeout <= 0 {
		o.LockTimeout = 5 * time.Second
	}
	if o.EventsRetained <= 0 {
		o.EventsRetained = 5000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// OpenInfo says what Open found.
type OpenInfo struct {
	// Created: there was no store file (or it was empty); a new one was made.
	Created bool
	// Rebuilt: the file was corrupt. It was moved to CorruptPath and an
	// empty store put in its place; the caller must rebuild its records.
	Rebuilt bool
	// CorruptPath is where the corrupt file now lies (Rebuilt only).
	CorruptPath string
	// CorruptReason says what was wrong with it (Rebuilt only).
	CorruptReason string
}

// Store is an open store. Its methods are safe for concurrent use.
type Store struct {
	db    *bolt.DB
	cache decodeCache
	lock  *os.File
	opts  Options
	info  OpenInfo
}

// Info reports what Open found.
func (s *Store) Info() OpenInfo { return s.info }

// Path returns the store file's path.
func (s *Store) Path() string { return s.db.Path() }

// Close closes the database and releases the lock.
func (s *Store) Close() error {
	err := s.db.Close()
	if lerr := s.lock.Close(); lerr != nil {
		err = errors.Join(err, lerr)
	}
	if err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}
