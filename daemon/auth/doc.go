// Package auth identifies and authorizes nucleusd's callers from what the
// kernel or the TLS handshake proves — SO_PEERCRED on the unix socket, the
// client certificate on the mTLS listener — never from request fields.
package auth
