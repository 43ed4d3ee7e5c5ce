package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/caudal/caudal/gateway"
	"github.com/caudal/caudal/gateway/auth"
	"github.com/caudal/caudal/metadata"
)

// securityFlags are Kafka's SASL and authorizer settings.
type securityFlags struct {
	mechanisms     string
	reauthMs       int64
	jwks           string
	oauthKey       string
	oauthIssuer    string
	oauthAudience  string
	oauthSubClaim  string
	oauthSkewSecs  int
	oauthUnsecured bool
	authorizer     string
	superUsers     string
	allowIfNoACL   bool
	adminUser      string
	adminPassFile  string
}

// adminPasswordEnv holds the first admin user's password when no file
// does: never a flag, which ps would show.
const adminPasswordEnv = "CAUDAL_SASL_ADMIN_PASSWORD"

func (f *securityFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.mechanisms, "sasl-enabled-mechanisms", "", "SASL mechanisms of SASL listeners: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER (comma-separated)")
	fs.Int64Var(&f.reauthMs, "connections-max-reauth-ms", 0, "longest a SASL authentication lasts before the client must re-authenticate (0: no limit)")
	fs.StringVar(&f.jwks, "sasl-oauthbearer-jwks-endpoint-url", "", "file:// URL (or path) of the JWKS that verifies OAUTHBEARER tokens; reloaded when it changes")
	fs.StringVar(&f.oauthKey, "sasl-oauthbearer-public-key-location", "", "PEM file of the token issuer's public keys, besides or instead of a JWKS")
	fs.StringVar(&f.oauthIssuer, "sasl-oauthbearer-expected-issuer", "", "the iss tokens must carry")
	fs.StringVar(&f.oauthAudience, "sasl-oauthbearer-expected-audience", "", "aud values of which tokens must carry one (comma-separated)")
	fs.StringVar(&f.oauthSubClaim, "sasl-oauthbearer-sub-claim-name", "sub", "the token claim that names the principal")
	fs.IntVar(&f.oauthSkewSecs, "sasl-oauthbearer-clock-skew-seconds", 30, "clock difference allowed with the token issuer")
	fs.BoolVar(&f.oauthUnsecured, "sasl-oauthbearer-unsecured", false, "accept unsigned tokens (alg none), as Kafka's unsecured validator: for development only")
	fs.StringVar(&f.authorizer, "authorizer", "none", "acl enforces Kafka ACLs; none allows every request")
	fs.StringVar(&f.superUsers, "super-users", "", "principals allowed everything, Kafka's super.users (e.g. User:admin;User:ops)")
	fs.BoolVar(&f.allowIfNoACL, "allow-everyone-if-no-acl-found", false, "allow what no ACL names a resource for")
	fs.StringVar(&f.adminUser, "sasl-admin-user", "", "SCRAM user created at start-up unless it exists, with the password in --sasl-admin-password-file or "+adminPasswordEnv)
	fs.StringVar(&f.adminPassFile, "sasl-admin-password-file", "", "file holding --sasl-admin-user's password")
}

// config is the gateway's SASL and authorizer configuration.
func (f *securityFlags) config() (gateway.SASLConfig, gateway.AuthorizerConfig, error) {
	var sasl gateway.SASLConfig
	for _, m := range splitList(f.mechanisms, ",") {
		sasl.Mechanisms = append(sasl.Mechanisms, strings.ToUpper(m))
	}
	sasl.ReauthMax = time.Duration(f.reauthMs) * time.Millisecond
	sasl.OAuth = auth.OAuthConfig{
		JWKSFile:       strings.TrimPrefix(f.jwks, "file://"),
		PublicKeyFile:  f.oauthKey,
		ExpectedIssuer: f.oauthIssuer,
		PrincipalClaim: f.oauthSubClaim,
		ClockSkew:      time.Duration(f.oauthSkewSecs) * time.Second,
		Unsecured:      f.oauthUnsecured,
	}
	sasl.OAuth.ExpectedAudience = splitList(f.oauthAudience, ",")
	var authz gateway.AuthorizerConfig
	switch f.authorizer {
	case "none", "":
	case "acl":
		authz.Enabled = true
	default:
		return sasl, authz, fmt.Errorf("--authorizer %q: want acl or none", f.authorizer)
	}
	authz.SuperUsers = splitList(f.superUsers, ";")
	authz.AllowEveryoneIfNoACLFound = f.allowIfNoACL
	return sasl, authz, nil
}

// bootstrapAdmin creates the first admin user's SCRAM credentials, for
// both mechanisms, unless the user has some: there is no default
// password, and a password changed later is changed with
// AlterUserScramCredentials, not by restarting with another one.
func (f *securityFlags) bootstrapAdmin(ctx context.Context, store metadata.Store, log *slog.Logger) error {
	if f.adminUser == "" {
		return nil
	}
	password, err := f.adminPassword()
	if err != nil {
		return err
	}
	infos, err := store.ScramCredentialInfos(ctx, []string{f.adminUser})
	if err != nil {
		return fmt.Errorf("look up SASL admin user: %w", err)
	}
	if len(infos) > 0 {
		return nil
	}
	for _, mech := range []string{auth.MechanismScramSHA256, auth.MechanismScramSHA512} {
		cred, err := auth.NewScramCredential(f.adminUser, mech, password, auth.DefaultIterations)
		if err != nil {
			return fmt.Errorf("SASL admin user: %w", err)
		}
		if err := store.PutScramCredential(ctx, cred); err != nil {
			return fmt.Errorf("create SASL admin user: %w", err)
		}
	}
	log.Info("created SASL admin user", "user", f.adminUser)
	return nil
}

func (f *securityFlags) adminPassword() (string, error) {
	if f.adminPassFile != "" {
		b, err := os.ReadFile(f.adminPassFile)
		if err != nil {
			return "", fmt.Errorf("--sasl-admin-password-file: %w", err)
		}
		if p := strings.TrimRight(string(b), "\r\n"); p != "" {
			return p, nil
		}
		return "", errors.New("--sasl-admin-password-file is empty")
	}
	if p := os.Getenv(adminPasswordEnv); p != "" {
		return p, nil
	}
	return "", fmt.Errorf("--sasl-admin-user needs a password in --sasl-admin-password-file or %s", adminPasswordEnv)
}
