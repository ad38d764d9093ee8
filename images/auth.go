package images

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
)

// authFile is a keychain over the "auths" of a docker config.json the
// operator names. Credential helpers (credsStore, credHelpers) are not run:
// nucleusd is root and runs no binary a config file names. The file is
// read at each pull, so credentials can change without a restart.
type authFile string

func (f authFile) Resolve(res authn.Resource) (authn.Authenticator, error) {
	if f == "" {
		return authn.Anonymous, nil
	}
	b, err := os.ReadFile(string(f))
	if err != nil {
		return nil, err
	}
	var cfg struct {
		Auths map[string]struct {
			Auth          string `json:"auth"`
			Username      string `json:"username"`
			Password      string `json:"password"`
			IdentityToken string `json:"identitytoken"`
			RegistryToken string `json:"registrytoken"`
		} `json:"auths"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return nil, err
	}
	want := res.RegistryStr()
	for key, a := range cfg.Auths {
		if !sameRegistry(authHost(key), want) {
			continue
		}
		ac := authn.AuthConfig{Username: a.Username, Password: a.Password, IdentityToken: a.IdentityToken, RegistryToken: a.RegistryToken}
		if a.Auth != "" {
			if dec, err := base64.StdEncoding.DecodeString(a.Auth); err == nil {
				ac.Username, ac.Password, _ = strings.Cut(string(dec), ":")
			}
		}
		return authn.FromConfig(ac), nil
	}
	return authn.Anonymous, nil
}

// authHost is the registry host of a config.json key, which may be a URL
// ("https://index.docker.io/v1/").
func authHost(key string) string {
	key = strings.TrimPrefix(strings.TrimPrefix(key, "https://"), "http://")
	host, _, _ := strings.Cut(key, "/")
	return host
}
