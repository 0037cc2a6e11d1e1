package pipeline

import (
	"context"
	"encoding/base64"
	"fmt"
	"regexp"
	"time"

	"google.golang.org/api/option"
	secretmanager "google.golang.org/api/secretmanager/v1"

	"github.com/asana-beam/asana-beam/sources/asana"
)

// Credentials reach the workers in one of two ways, never through the job
// itself (DoFn fields and pipeline options are shown by runners):
//
//   - the environment variable CredentialsEnv of the worker processes: on
//     Prism, the command's own process, or the job server's environment;
//   - a Google Secret Manager secret version, read by each worker with its
//     service account: the job holds only the version's resource name.
//
// Either holds what asana.Credentials.EnvValue encodes, or a bare personal
// access token.

// CredentialSource says where workers find the credentials.
type CredentialSource struct {
	// Env is the environment variable to read when Secret is empty.
	Env string `json:"env"`
	// Secret is a Secret Manager secret version,
	// projects/P/secrets/S/versions/V (V may be "latest").
	Secret string `json:"secret,omitempty"`
	// SecretManagerEndpoint overrides Secret Manager's address (tests,
	// private endpoints); requests to it are sent without Google auth.
	SecretManagerEndpoint string `json:"secret_manager_endpoint,omitempty"`
}

var secretVersionName = regexp.MustCompile(`^projects/[^/]+/secrets/[^/]+/versions/[^/]+$`)

// ValidateSecretName checks a Secret Manager secret version name.
func ValidateSecretName(name string) error {
	if !secretVersionName.MatchString(name) {
		return fmt.Errorf("%q is not a secret version: want projects/PROJECT/secrets/SECRET/versions/VERSION (VERSION may be latest)", name)
	}
	return nil
}

// Load returns the credentials.
func (c CredentialSource) Load(ctx context.Context) (asana.Credentials, error) {
	if c.Secret == "" {
		return asana.CredentialsFromEnv(c.Env)
	}
	if err := ValidateSecretName(c.Secret); err != nil {
		return asana.Credentials{}, fmt.Errorf("credentials secret: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var opts []option.ClientOption
	if c.SecretManagerEndpoint != "" {
		opts = append(opts, option.WithEndpoint(c.SecretManagerEndpoint), option.WithoutAuthentication())
	}
	svc, err := secretmanager.NewService(ctx, opts...)
	if err != nil {
		return asana.Credentials{}, fmt.Errorf("reaching Secret Manager for %s: %w", c.Secret, err)
	}
	v, err := svc.Projects.Secrets.Versions.Access(c.Secret).Context(ctx).Do()
	if err != nil {
		return asana.Credentials{}, fmt.Errorf("reading the credentials secret %s: %w", c.Secret, err)
	}
	if v.Payload == nil {
		return asana.Credentials{}, fmt.Errorf("the credentials secret %s has no payload", c.Secret)
	}
	data, err := base64.StdEncoding.DecodeString(v.Payload.Data)
	if err != nil {
		return asana.Credentials{}, fmt.Errorf("the credentials secret %s: payload is not base64: %w", c.Secret, err)
	}
	return asana.ParseCredentials("the credentials secret "+c.Secret, string(data))
}
