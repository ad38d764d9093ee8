package core

// CertOwner returns the owner uid of a TLS client's certificate identity
// (auth.CertKey), allocated in the store the first time the key is seen
// and never given to another key: the Policy.CertOwners of the mTLS
// listener.
func (d *Daemon) CertOwner(key [32]byte, subject string) (uint32, error) {
	return d.store.CertOwner(key, subject)
}
