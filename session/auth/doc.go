// Package auth verifies the signed tokens (JWT) that say who a user is and
// what they may do with each document.
//
// A Verifier accepts only the algorithms its keys allow: HS256 when it has a
// shared secret, EdDSA when it has an Ed25519 public key, RS256 when it has
// an RSA public key. A token's alg picks the key of its own kind, so a token
// signed with HS256 and the bytes of a public key is refused, and so is alg
// none. exp is required; exp, nbf, iss (when configured) and aud (when
// configured) are checked with a small leeway.
//
// A token's claims give the user id (sub), a display name (name), a colour
// (color, "#rrggbb") and the user's role on documents (docs): a map from a
// document id, or from a prefix pattern ending in "*", to "view", "edit" or
// "admin". A role is read from its value only: any other value (false,
// "false", 0, null, "yes") grants nothing.
//
// A Verifier is safe for concurrent use.
package auth
